"""The verdict as a grammar (``legal/verdict.py``, ``legal/clauses.py``): golden sentences in force for
invented verdicts of every shape the issue lists (several charges, several clauses, mergers, revoked
probation, 拘役/管制, exemption, death and life, unit crime, appeals, 分别判处, forfeiture, typos).
Fictional names, courts and numbers throughout."""

from __future__ import annotations

import jsonschema
import pytest

from nlp_judgments.legal.records import record_from_rules, record_schema

VALIDATOR = jsonschema.Draft202012Validator(record_schema())


def judgment(verdict: str, names=("赵某某",), date="二〇一九年三月十五日", appeal=False) -> str:
    role = "上诉人（原审被告人）" if appeal else "被告人"
    parties = " ".join(f"{role}{n}，男，1990年5月6日出生。" for n in names)
    head = ("青山市中级人民法院 刑事判决书 （2019）青01刑终12号 原公诉机关青山市东湖区人民检察院。" if appeal else
            "青山市东湖区人民法院 刑事判决书 （2019）青0102刑初321号 公诉机关青山市东湖区人民检察院。")
    return (f"{head} {parties} 青山市东湖区人民检察院以青东检刑诉（2019）45号起诉书指控被告人犯罪，于2019年3月1日"
            f"向本院提起公诉。现已审理终结。 本院认为，被告人的行为已构成犯罪。判决如下： {verdict} "
            f"如不服本判决，可在接到判决书的第二日起十日内提出上诉。 审判长孙某 审判员李某 {date} 书记员周某")


def outcome(verdict: str, **kw) -> dict:
    rec = record_from_rules(judgment(verdict, **kw))
    VALIDATOR.validate(rec)
    out = {}
    for d in rec["defendants"]:
        s = d["sentence"] or {}
        out[d["name"]["value"]] = (
            [c["value"] for c in d["charges"]], s.get("type", {}).get("value"), s.get("months", {}).get("value"),
            s.get("probation_months", {}).get("value", 0), d["fine_yuan"]["value"], d["probation_revoked"]["value"],
        )
    out["warnings"] = rec["warnings"]
    out["record"] = rec
    return out


CASES = {
    "one charge": ("被告人赵某某犯盗窃罪，判处有期徒刑八个月，并处罚金人民币二千元。",
                   (["盗窃罪"], "有期徒刑", 8, 0, 2000, False)),
    "several charges, 决定执行": (
        "被告人赵某某犯盗窃罪，判处有期徒刑一年，并处罚金人民币三千元；犯诈骗罪，判处有期徒刑六个月，并处罚金人民币二千元，"
        "决定执行有期徒刑一年三个月，并处罚金人民币五千元。",
        (["盗窃罪", "诈骗罪"], "有期徒刑", 15, 0, 5000, False)),
    "the same defendant in two clauses": (
        "被告人赵某某犯盗窃罪，判处有期徒刑一年，并处罚金人民币三千元；被告人赵某某犯诈骗罪，判处有期徒刑六个月，"
        "并处罚金人民币二千元。决定执行有期徒刑一年三个月，并处罚金人民币五千元。",
        (["盗窃罪", "诈骗罪"], "有期徒刑", 15, 0, 5000, False)),
    "per-charge fines summed": (
        "被告人赵某某犯盗窃罪，判处有期徒刑一年，并处罚金人民币三千元；犯诈骗罪，判处有期徒刑六个月，并处罚金人民币二千元；"
        "数罪并罚，决定执行有期徒刑一年三个月。",
        (["盗窃罪", "诈骗罪"], "有期徒刑", 15, 0, 5000, False)),
    "a combined fine restated counted once": (
        "被告人赵某某犯盗窃罪，判处有期徒刑一年，并处罚金人民币三千元；犯诈骗罪，判处有期徒刑六个月，并处罚金人民币二千元；"
        "数罪并罚，决定执行有期徒刑一年三个月；罚金共计人民币五千元。",
        (["盗窃罪", "诈骗罪"], "有期徒刑", 15, 0, 5000, False)),
    "merged with an earlier sentence": (
        "被告人赵某某犯诈骗罪，判处有期徒刑一年，并处罚金人民币三千元；与前罪寻衅滋事罪判处的有期徒刑十个月，并处罚金人民币"
        "一千元合并执行，决定执行有期徒刑一年八个月，并处罚金人民币四千元。",
        (["诈骗罪"], "有期徒刑", 20, 0, 4000, False)),
    "merged with 连同前判": (
        "被告人赵某某犯诈骗罪，判处有期徒刑一年；连同前判犯盗窃罪判处的有期徒刑十个月，决定执行有期徒刑一年八个月。",
        (["诈骗罪"], "有期徒刑", 20, 0, None, False)),
    "earlier probation revoked, merged": (
        "一、撤销青山市西湖区人民法院（2017）青0103刑初7号刑事判决中对被告人赵某某宣告缓刑一年的部分。 "
        "二、被告人赵某某犯盗窃罪，判处有期徒刑八个月，与前罪有期徒刑六个月并罚，决定执行有期徒刑一年。",
        (["盗窃罪"], "有期徒刑", 12, 0, None, True)),
    "revoked in the clause itself": (
        "被告人赵某某犯盗窃罪，判处有期徒刑八个月，撤销青山市西湖区人民法院（2017）青0103刑初7号刑事判决对其宣告的缓刑，"
        "与前罪有期徒刑六个月并罚，决定执行有期徒刑一年。",
        (["盗窃罪"], "有期徒刑", 12, 0, None, True)),
    "拘役 with probation": ("被告人赵某某犯危险驾驶罪，判处拘役二个月，缓刑三个月，并处罚金人民币三千元。",
                           (["危险驾驶罪"], "拘役", 2, 3, 3000, False)),
    "管制": ("被告人赵某某犯寻衅滋事罪，判处管制一年。", (["寻衅滋事罪"], "管制", 12, 0, None, False)),
    "exemption": ("被告人赵某某犯挪用公款罪，免予刑事处罚。", (["挪用公款罪"], "免予刑事处罚", None, 0, None, False)),
    "one charge exempted, a term executed": (
        "被告人赵某某犯贪污罪，免予刑事处罚；犯受贿罪，判处有期徒刑六个月；数罪并罚，决定执行有期徒刑六个月。",
        (["贪污罪", "受贿罪"], "有期徒刑", 6, 0, None, False)),
    "death with reprieve": ("被告人赵某某犯故意杀人罪，判处死刑，缓期二年执行，剥夺政治权利终身。",
                            (["故意杀人罪"], "死刑", None, 0, None, False)),
    "life": ("被告人赵某某犯抢劫罪，判处无期徒刑，剥夺政治权利终身，并处没收个人全部财产。",
             (["抢劫罪"], "无期徒刑", None, 0, None, False)),
    "又 in the term": ("被告人赵某某犯盗窃罪，判处有期徒刑二年又三个月。", (["盗窃罪"], "有期徒刑", 27, 0, None, False)),
    "days dropped": ("被告人赵某某犯盗窃罪，判处拘役一个月零十五天。", (["盗窃罪"], "拘役", 1, 0, None, False)),
    "forfeiture and restitution are not fines": (
        "一、被告人赵某某犯盗窃罪，判处有期徒刑一年，并处罚金人民币二千元，没收个人财产人民币一万元。 "
        "二、责令被告人赵某某退赔被害人经济损失人民币五万元。 三、追缴被告人赵某某的违法所得人民币三千元，作案工具予以没收。",
        (["盗窃罪"], "有期徒刑", 12, 0, 2000, False)),
    "notes in brackets are not penalties": (
        "被告人赵某某犯盗窃罪，判处有期徒刑七个月，并处罚金人民币2000元。 （刑期从判决执行之日起计算，即自2019年1月2日起"
        "至2019年8月1日止；罚金人民币2000元已缴纳，缓刑考验期限从判决确定之日起计算。）",
        (["盗窃罪"], "有期徒刑", 7, 0, 2000, False)),
    "a selective charge by its full name": ("被告人赵某某犯贩卖毒品罪，判处有期徒刑八个月，并处罚金人民币一千元。",
                                            (["走私、贩卖、运输、制造毒品罪"], "有期徒刑", 8, 0, 1000, False)),
    "acquitted": ("被告人赵某某无罪。", ([], None, None, 0, None, False)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sentence_in_force(case):
    verdict, expected = CASES[case]
    assert outcome(verdict)["赵某某"] == expected


def test_two_defendants_分别判处():
    got = outcome("被告人赵某某、钱某犯盗窃罪，分别判处有期徒刑一年、八个月，缓刑一年六个月、一年，并分别处罚金人民币三千元、"
                  "二千元。", names=("赵某某", "钱某"))
    assert got["赵某某"] == (["盗窃罪"], "有期徒刑", 12, 18, 3000, False)
    assert got["钱某"] == (["盗窃罪"], "有期徒刑", 8, 12, 2000, False)


def test_two_defendants_one_clause_each_in_items():
    got = outcome("一、被告人赵某某犯抢劫罪，判处有期徒刑三年，并处罚金人民币五千元。 二、被告人钱某犯抢劫罪，判处有期徒刑二年，"
                  "缓刑三年，并处罚金人民币三千元。", names=("赵某某", "钱某"))
    assert got["赵某某"] == (["抢劫罪"], "有期徒刑", 36, 0, 5000, False)
    assert got["钱某"] == (["抢劫罪"], "有期徒刑", 24, 36, 3000, False)


def test_appeal_maintained_fine_and_new_term():
    verdict = ("一、维持青山市东湖区人民法院（2019）青0102刑初321号刑事判决中对被告人赵某某的定罪部分及罚金部分，即被告人赵某某"
               "犯盗窃罪，并处罚金人民币一万元。 二、撤销青山市东湖区人民法院（2019）青0102刑初321号刑事判决中对被告人赵某某的"
               "量刑部分，即判处有期徒刑三年，缓刑三年。 三、上诉人（原审被告人）赵某某犯盗窃罪，判处有期徒刑二年六个月。")
    assert outcome(verdict, appeal=True)["赵某某"] == (["盗窃罪"], "有期徒刑", 30, 0, 10000, False)


def test_appeal_revoked_judgment_restated_is_not_in_force():
    verdict = ("一、撤销青山市东湖区人民法院（2019）青0102刑初321号刑事判决，即：被告人赵某某犯危险驾驶罪，判处拘役二个月，缓刑"
               "四个月，并处罚金人民币三千元。 二、上诉人（原审被告人）赵某某犯危险驾驶罪，判处拘役一个月，并处罚金人民币二千元。")
    assert outcome(verdict, appeal=True)["赵某某"] == (["危险驾驶罪"], "拘役", 1, 0, 2000, False)


def test_appeal_charges_are_the_final_verdict_s():
    verdict = ("一、维持青山市东湖区人民法院（2019）青0102刑初321号刑事判决中对被告人赵某某犯包庇罪的判决部分； 二、撤销该判决中"
               "对被告人赵某某犯帮助毁灭证据罪的判决和数罪并罚部分； 三、上诉人（原审被告人）赵某某犯包庇罪，判处有期徒刑一年。")
    assert outcome(verdict, appeal=True)["赵某某"][:3] == (["窝藏、包庇罪"], "有期徒刑", 12)


@pytest.mark.parametrize("verdict, field", [
    ("被告人赵某某犯盗窃罪，判处有期徒刑六个；", "months"),  # a term without its 月
    ("被告人赵某某犯盗窃罪，判处有期徒刑六个月，并处罚金人民币2000。", "fine_yuan"),  # a fine without its 元
])
def test_typos_are_read_and_flagged(verdict, field):
    got = outcome(verdict)
    d = got["record"]["defendants"][0]
    target = d["sentence"]["months"] if field == "months" else d["fine_yuan"]
    assert target["value"] == (6 if field == "months" else 2000) and target.get("uncertain") is True
    assert any(w.startswith("赵某某:") and f"{field}: uncertain" in w for w in got["warnings"])


def test_several_principal_penalties_without_決定执行_are_flagged():
    got = outcome("被告人赵某某犯盗窃罪，判处有期徒刑一年；犯诈骗罪，判处有期徒刑六个月。")
    s = got["record"]["defendants"][0]["sentence"]
    assert s["months"]["value"] == 6 and s["months"].get("uncertain") is True


@pytest.mark.parametrize("date, expected", [("二〇一九年三月十五日", "生产、销售假药罪"), ("二〇二二年三月十五日", "生产、销售、提供假药罪")])
def test_charges_are_named_as_in_force_on_the_judgment_date(date, expected):
    got = outcome("被告人赵某某犯销售假药罪，判处拘役三个月，并处罚金人民币三千元。", date=date)
    assert got["赵某某"][0] == [expected]


def test_a_verdict_name_without_a_party_line_becomes_a_defendant_with_a_warning():
    got = outcome("一、被告人赵某某犯盗窃罪，判处拘役三个月。 二、被告人孙某某犯盗窃罪，判处拘役二个月。")
    assert got["孙某某"][:3] == (["盗窃罪"], "拘役", 2)
    assert any(w.startswith("孙某某:") and "no party line" in w for w in got["warnings"])


def test_mentions_that_are_not_convictions_open_no_clause():
    got = outcome("一、被告人赵某某犯盗窃罪，判处拘役三个月。 二、继续追缴被告人赵某某的犯罪所得，退赔被害人。")
    assert list(got) == ["赵某某", "warnings", "record"] and got["赵某某"][:3] == (["盗窃罪"], "拘役", 3)
