"""Golden tables for the normalisers: judgment phrasing in, typed value out.

Each row is one way a judgment writes a value. A row that fails is a regression in how the
project reads money, terms, dates, charges or case numbers, so rows are only ever added.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nlp_judgments.legal.normalize import (
    Amount,
    CaseNumber,
    DateValue,
    Penalty,
    amount_to_yuan,
    canonical_charge,
    parse_case_number,
    parse_date,
    parse_number,
    penalty_to_months,
    statutory_name,
)

D = Decimal

# --- amounts: (text, value, high, approximate, currency) ---------------------------------------
AMOUNTS = [
    ("人民币3,000元", D(3000), None, False, "CNY"),
    ("人民币3，000元", D(3000), None, False, "CNY"),  # full-width thousands separator
    ("人民币３５００元", D(3500), None, False, "CNY"),  # full-width digits
    ("1.2万元", D(12000), None, False, "CNY"),
    ("人民币1.2万元", D(12000), None, False, "CNY"),
    ("人民币1.2977万元", D("12977"), None, False, "CNY"),
    ("四千余元", D(4000), None, True, "CNY"),
    ("4400多元", D(4400), None, True, "CNY"),
    ("人民币二万八千元左右", D(28000), None, True, "CNY"),
    ("人民币二万八千元", D(28000), None, False, "CNY"),
    ("10万至30万元", D(100000), D(300000), False, "CNY"),
    ("10万至3万元", D(30000), D(100000), False, "CNY"),  # ends written out of order are sorted
    ("3元至8元", D(3), D(8), False, "CNY"),
    ("2至3万元", D(20000), D(30000), False, "CNY"),  # the unit written once applies to both
    ("人民币38.6万余元", D(386000), None, True, "CNY"),
    ("约29万元", D(290000), None, True, "CNY"),
    ("约人民币5万元", D(50000), None, True, "CNY"),
    ("1,062,548.79元", D("1062548.79"), None, False, "CNY"),
    ("人民币8,914.6万元", D(89146000), None, False, "CNY"),
    ("4,860余万元", D(48600000), None, True, "CNY"),
    ("1.37亿元", D(137000000), None, False, "CNY"),
    ("人民币3亿2000万元", D(320000000), None, False, "CNY"),
    ("六七十元", D(60), D(70), True, "CNY"),
    ("¥800", D(800), None, False, "CNY"),
    ("￥30,000元", D(30000), None, False, "CNY"),
    ("1315元人民币", D(1315), None, False, "CNY"),
    ("现金人民币50元左右", D(50), None, True, "CNY"),
    ("人民币一千零六十二元", D(1062), None, False, "CNY"),
    ("50块钱", D(50), None, False, "CNY"),
    ("5000美元", D(5000), None, False, "USD"),
    ("港币1万元", D(10000), None, False, "HKD"),
    ("价值人民币860元", D(860), None, False, "CNY"),
    ("近3万元", D(30000), None, True, "CNY"),
    ("2000余元现金", D(2000), None, True, "CNY"),
    ("人民币62万余元", D(620000), None, True, "CNY"),
    ("十二万元", D(120000), None, False, "CNY"),
    ("人民币二十一万六千二百元", D(216200), None, False, "CNY"),
    ("八百多元", D(800), None, True, "CNY"),
    ("人民币壹万伍仟元", D(15000), None, False, "CNY"),  # financial numerals
    ("人民币9,500.00元", D(9500), None, False, "CNY"),
    ("人民币两千元", D(2000), None, False, "CNY"),
]


@pytest.mark.parametrize("text,value,high,approximate,currency", AMOUNTS)
def test_amount_golden(text, value, high, approximate, currency):
    got = amount_to_yuan(text)
    assert got is not None, text
    assert (got.value, got.high, got.approximate, got.currency) == (value, high, approximate, currency)


@pytest.mark.parametrize("text", ["3000", "数十元", "人民891元", "", "盗窃罪", "有期徒刑三年", "4.7克", "元"])
def test_amount_rejects(text):
    assert amount_to_yuan(text) is None


def test_amount_keeps_written_unit():
    assert amount_to_yuan("2万元").unit == "万元"
    assert amount_to_yuan("20000元").unit == "元"
    assert amount_to_yuan("10万至30万元").is_range


# --- penalties: (text, kind, months, days, life, fine) -------------------------------------------
PENALTIES = [
    ("有期徒刑三年三个月", "有期徒刑", 39, 0, False, None),
    ("有期徒刑七个月", "有期徒刑", 7, 0, False, None),
    ("有期徒刑一年十个月", "有期徒刑", 22, 0, False, None),
    ("判处有期徒刑一年零六个月", "有期徒刑", 18, 0, False, None),
    ("有期徒刑一年又六个月", "有期徒刑", 18, 0, False, None),  # 又 joins the parts like 零
    ("拘役一个月零十五天", "拘役", 1, 15, False, None),
    ("有期徒刑1年6个月", "有期徒刑", 18, 0, False, None),
    ("有期徒刑十年", "有期徒刑", 120, 0, False, None),
    ("有期徒刑十二年", "有期徒刑", 144, 0, False, None),
    ("决定执行有期徒刑五年", "有期徒刑", 60, 0, False, None),
    ("拘役六个月", "拘役", 6, 0, False, None),
    ("拘役5个月", "拘役", 5, 0, False, None),
    ("拘役一个月十五日", "拘役", 1, 15, False, None),
    ("管制一年", "管制", 12, 0, False, None),
    ("管制六个月", "管制", 6, 0, False, None),
    ("缓刑一年", "缓刑", 12, 0, False, None),
    ("缓刑三个月", "缓刑", 3, 0, False, None),
    ("缓刑二年", "缓刑", 24, 0, False, None),
    ("无期徒刑", "无期徒刑", None, 0, True, None),
    ("死刑", "死刑", None, 0, True, None),
    ("死刑缓期二年执行", "死刑缓期执行", 24, 0, False, None),
    ("死刑，缓期二年执行", "死刑缓期执行", 24, 0, False, None),
    ("剥夺政治权利三年", "剥夺政治权利", 36, 0, False, None),
    ("剥夺政治权利终身", "剥夺政治权利", None, 0, True, None),
    ("罚金人民币二千元", "罚金", None, 0, False, D(2000)),
    ("并处罚金人民币五万元", "罚金", None, 0, False, D(50000)),
    ("罚金人民币3000元", "罚金", None, 0, False, D(3000)),
    ("并处罚金", "罚金", None, 0, False, None),
    ("没收个人财产人民币十万元", "没收财产", None, 0, False, D(100000)),
    ("免予刑事处罚", "免予刑事处罚", None, 0, False, None),
    ("驱逐出境", "驱逐出境", None, 0, False, None),
]


@pytest.mark.parametrize("text,kind,months,days,life,fine", PENALTIES)
def test_penalty_golden(text, kind, months, days, life, fine):
    got = penalty_to_months(text)
    assert got is not None, text
    assert (got.kind, got.months, got.days, got.life) == (kind, months, days, life)
    assert (got.amount.value if got.amount else None) == fine


def test_penalty_confiscation_of_all_property():
    assert penalty_to_months("并处没收个人全部财产") == Penalty("没收财产", all_property=True)


@pytest.mark.parametrize("text", ["三年以下有期徒刑", "有期徒刑", "强制隔离戒毒二年", "", "人民币二千元"])
def test_penalty_rejects(text):
    # A statutory range names no term; administrative measures are not criminal penalties.
    assert penalty_to_months(text) is None


# --- dates: (text, reference, value, end, precision, approximate) ------------------------------
DATES = [
    ("2020年11月", None, "2020-11", None, "month", False),
    ("6月21日", 2020, "2020-06-21", None, "day", False),
    ("6月21日", None, "--06-21", None, "day", False),
    ("二〇一七年六月二十八日", None, "2017-06-28", None, "day", False),
    ("二0一七年六月", None, "2017-06", None, "month", False),
    ("二〇二〇年十一月三日", None, "2020-11-03", None, "day", False),
    ("2019年11月至2021年7月6日", None, "2019-11", "2021-07-06", "month", False),
    ("2018年5月12日23时许", None, "2018-05-12T23", None, "hour", True),
    ("2018年11月30日晚11时许", None, "2018-11-30T23", None, "hour", True),  # 晚11时 is 23:00
    ("2017年7月4日晚21时许", None, "2017-07-04T21", None, "hour", True),  # already 24-hour
    ("2019年5月3日凌晨2时许", None, "2019-05-03T02", None, "hour", True),
    ("2018年6月12日上午8时30分许", None, "2018-06-12T08:30", None, "minute", True),
    ("2020年3月5日至3月7日期间", None, "2020-03-05", "2020-03-07", "day", False),
    ("2021年3月17日至同年4月2日", None, "2021-03-17", "2021-04-02", "day", False),
    ("2020年3月至11月", None, "2020-03", "2020-11", "month", False),
    ("2018年1月14日8时30分至2018年1月15日11时20分期间", None, "2018-01-14T08:30", "2018-01-15T11:20", "minute", False),
    ("同年11月19日", date(2021, 10, 14), "2021-11-19", None, "day", False),
    ("次日", date(2020, 5, 18), "2020-05-19", None, "day", False),
    ("次日", date(2020, 12, 31), "2021-01-01", None, "day", False),
    ("同月20日", date(2021, 10, 14), "2021-10-20", None, "day", False),
    ("2019年5月下旬的一天晚上", None, "2019-05", None, "month", True),
    ("2018年5月的一天", None, "2018-05", None, "month", True),
    ("2017年6月底", None, "2017-06", None, "month", True),
    ("2018年3月上旬至3月20日", None, "2018-03", "2018-03-20", "month", True),
    ("2017年12月31日下午", None, "2017-12-31", None, "day", False),
    ("2019年3月12日左右的一天下午15时许", None, "2019-03-12T15", None, "hour", True),
    ("2015年01月09日", None, "2015-01-09", None, "day", False),
    ("2017年", None, "2017", None, "year", False),
    ("自2018年4月15日起", None, "2018-04-15", None, "day", False),
    ("2020年2月29日", None, "2020-02-29", None, "day", False),  # a leap day exists
    ("２０１９年６月２２日", None, "2019-06-22", None, "day", False),
]


@pytest.mark.parametrize("text,reference,value,end,precision,approximate", DATES)
def test_date_golden(text, reference, value, end, precision, approximate):
    assert parse_date(text, reference) == DateValue(value, end, precision, approximate)


@pytest.mark.parametrize("text", ["三年", "案发后", "2018年2月30日", "2019年2月29日", "13月5日", "次日", ""])
def test_date_rejects(text):
    # 次日 without a reference date cannot be placed.
    assert parse_date(text) is None


# --- charges: (text, canonical, match) --------------------------------------------------------
CHARGES = [
    ("盗窃罪", "盗窃罪", "canonical"),
    ("侵犯公民个人信息罪", "侵犯公民个人信息罪", "canonical"),
    ("贩卖毒品罪", "走私、贩卖、运输、制造毒品罪", "selection"),
    ("贩卖、运输毒品罪", "走私、贩卖、运输、制造毒品罪", "selection"),
    ("运输毒品罪", "走私、贩卖、运输、制造毒品罪", "selection"),
    ("走私、贩卖、运输、制造毒品罪", "走私、贩卖、运输、制造毒品罪", "canonical"),
    ("强制猥亵罪", "强制猥亵、侮辱罪", "selection"),
    ("强制猥亵、侮辱妇女罪", "强制猥亵、侮辱罪", "alias"),
    ("侮辱罪", "侮辱罪", "canonical"),  # its own charge, not a selection of 强制猥亵、侮辱罪
    ("掩饰、隐瞒犯罪所得罪", "掩饰、隐瞒犯罪所得、犯罪所得收益罪", "selection"),
    ("非法持有枪支罪", "非法持有、私藏枪支、弹药罪", "selection"),
    ("非法买卖枪支罪", "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物罪", "selection"),
    ("伪造国家机关证件罪", "伪造、变造、买卖国家机关公文、证件、印章罪", "selection"),
    ("骗取贷款罪", "骗取贷款、票据承兑、金融票证罪", "selection"),
    ("容留卖淫罪", "引诱、容留、介绍卖淫罪", "selection"),
    ("偷越国(边)境罪", "偷越国（边）境罪", "canonical"),
    ("生产、销售假药罪", "生产、销售、提供假药罪", "alias"),
    ("虚开增值税专用发票罪", "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪", "selection"),
    ("犯诈骗罪", "诈骗罪", "canonical"),
    ("帮助信息网络犯罪活动罪", "帮助信息网络犯罪活动罪", "canonical"),
    ("偷税罪", "逃税罪", "alias"),
    ("袭警罪", "袭警罪", "canonical"),
]


@pytest.mark.parametrize("text,name,match", CHARGES)
def test_charge_golden(text, name, match):
    got = canonical_charge(text)
    assert got is not None, text
    assert (got.name, got.match) == (name, match)


# (text, day, name in force that day): Amendment XI renamed some charges from 2021-03-01.
NAMED_ON = [
    ("销售假药罪", "2019-06-27", "生产、销售假药罪"),
    ("销售假药罪", "2021-03-01", "生产、销售、提供假药罪"),
    ("生产、销售假药罪", None, "生产、销售、提供假药罪"),  # no date: the current name
    ("销售劣药罪", "2018", "生产、销售劣药罪"),  # a year is enough
    ("非法收购珍贵、濒危野生动物制品罪", "2017-05-01", "非法收购、运输、出售珍贵、濒危野生动物、珍贵、濒危野生动物制品罪"),
    ("非法猎捕珍贵、濒危野生动物罪", "2017-05-01", "非法猎捕、杀害珍贵、濒危野生动物罪"),
    ("危害珍贵、濒危野生动物罪", "2022-01-01", "危害珍贵、濒危野生动物罪"),
    ("侮辱国歌罪", "2019-01-01", "侮辱国歌罪"),
    ("盗窃罪", "2019-01-01", "盗窃罪"),
    ("贩卖毒品罪", "2015-01-01", "走私、贩卖、运输、制造毒品罪"),
    ("某某罪", "2019-01-01", None),
]


@pytest.mark.parametrize("text,day,name", NAMED_ON)
def test_statutory_name_on_a_day(text, day, name):
    assert statutory_name(text, day) == name


@pytest.mark.parametrize("text", ["盗窃", "犯罪", "某某罪", "", "罪", "数罪"])
def test_charge_rejects(text):
    assert canonical_charge(text) is None


# --- case numbers: (text, year, serial, court_code, procedure, issuer) ------------------------
CASE_NUMBERS = [
    ("（2017）沪0120刑初684号", 2017, 684, "沪0120", "刑初", None),
    ("（2019）京01刑终123号", 2019, 123, "京01", "刑终", None),
    ("(2018)湘0104刑初321号", 2018, 321, "湘0104", "刑初", None),
    ("（2012）杭西刑初字第286号", 2012, 286, "杭西", "刑初", None),
    ("（2015）烈刑初字第00047号", 2015, 47, "烈", "刑初", None),
    ("（2020）粤03刑再5号", 2020, 5, "粤03", "刑再", None),
    ("沪闵检诉刑诉［2019］517号", 2019, 517, None, None, "沪闵检诉刑诉"),
    ("渝中检刑诉［2016］第572号", 2016, 572, None, None, "渝中检刑诉"),
    ("津南检公诉刑诉﹝2017﹞62号", 2017, 62, None, None, "津南检公诉刑诉"),
]


@pytest.mark.parametrize("text,year,serial,court_code,procedure,issuer", CASE_NUMBERS)
def test_case_number_golden(text, year, serial, court_code, procedure, issuer):
    assert parse_case_number(text) == CaseNumber(year, serial, court_code, procedure, issuer)


@pytest.mark.parametrize("text,level", [("（2017）沪0120刑初684号", "basic"), ("（2019）京01刑终123号", "intermediate"),
                                        ("（2016）京刑终5号", "high"), ("（2012）杭西刑初字第286号", None)])
def test_court_level(text, level):
    assert parse_case_number(text).court_level == level


@pytest.mark.parametrize("text", ["（2018）号", "盗窃罪", "2018年643号", ""])
def test_case_number_rejects(text):
    assert parse_case_number(text) is None


# --- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [("二万八千", 28000), ("一千零六十二", 1062), ("十五", 15), ("二〇一七", 2017),
                                        ("3,000", 3000), ("1.37亿", 137000000), ("一亿二千万", 120000000), ("两百", 200)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_results_are_frozen():
    got = amount_to_yuan("3000元")
    with pytest.raises(AttributeError):
        got.value = 1  # type: ignore[misc]
    assert isinstance(got, Amount)


def test_golden_table_size():
    # The issue asks for at least 100 golden cases across the normalisers.
    assert len(AMOUNTS) + len(PENALTIES) + len(DATES) + len(CHARGES) + len(CASE_NUMBERS) >= 100
