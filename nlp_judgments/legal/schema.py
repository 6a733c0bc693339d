"""The judgment schema: which entity labels exist, what each means, and where its spans stop.

This module is the single source of truth for the label set. Training, evaluation, the rule
pre-labeller (``prelabel.py``) and the annotation guideline (``docs/GUIDELINE.md``) all read
from it, so a label added or renamed here is added or renamed everywhere.

Each label carries a Chinese name, a one-sentence definition, its boundary rule (what the span
includes and excludes) and a few real-looking examples written for the project. The examples
are whole spans as they would appear in a judgment, not context sentences.

Left out: how labels become BIO tags (``encoding.py``), how spans become case records, and
the mapping from public data sets' label codes (that lives with the reader of each format).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelInfo:
    """What one entity label means.

    ``boundary`` is the rule an annotator (or a rule) follows to decide where a span starts
    and ends; ``examples`` are complete spans; ``not_examples`` are near misses that are
    either a different label or no entity at all, with the reason.
    """

    name: str
    chinese: str
    definition: str
    boundary: str
    examples: tuple[str, ...]
    not_examples: tuple[str, ...] = ()


# Order matters: it is the order of BIO tag ids in saved models and of rows in reports.
# New labels go at the end so that older models keep their tag ids.
_INFOS: tuple[LabelInfo, ...] = (
    LabelInfo(
        name="DEFENDANT",
        chinese="被告人",
        definition="The name of a person accused or convicted in this judgment, at every mention.",
        boundary=(
            "The name only, as written (masked names included: 张某某, 刘3). Excludes the role word "
            "被告人 and any alias note such as （曾用名…）, which gets its own DEFENDANT span if it is a name."
        ),
        examples=("王某某", "李建国", "刘3", "陈某甲"),
        not_examples=("被告人王某某 (the role word is outside the span)", "被害人张某 (a victim is PERSON)"),
    ),
    LabelInfo(
        name="PERSON",
        chinese="其他人员",
        definition=(
            "The name of any other natural person: victim, witness, co-offender tried elsewhere, "
            "defence counsel, judge, clerk, prosecutor."
        ),
        boundary="The name only. Excludes roles and titles (被害人, 辩护人, 审判员, 检察员).",
        examples=("张某", "赵丽华", "孙某某"),
        not_examples=("审判员赵丽华 (the title is outside the span)",),
    ),
    LabelInfo(
        name="ORG",
        chinese="机构",
        definition=(
            "A named organisation other than a court or a procuratorate: companies and their shops, "
            "police bureaus, law firms, legal aid centres, banks, hospitals, appraisal bodies."
        ),
        boundary=(
            "The full name as written, from the first character of the place or brand to the "
            "organisation word (公司, 分局, 派出所, 律师事务所, 门店). Generic references "
            "(公安机关, 该公司) are not entities."
        ),
        examples=("上海市公安局长宁分局", "浙江金桥律师事务所", "杭州某某通讯器材有限公司", "中国移动通信集团江苏有限公司"),
        not_examples=("公安机关 (generic)", "本院 (anaphora to a COURT)"),
    ),
    LabelInfo(
        name="COURT",
        chinese="法院",
        definition="A named people's court.",
        boundary="The full name, ending in 法院. Excludes 本院 and 原审法院 without a name.",
        examples=("上海市长宁区人民法院", "北京市第一中级人民法院", "浙江省高级人民法院"),
        not_examples=("本院 (anaphora)",),
    ),
    LabelInfo(
        name="PROCURATORATE",
        chinese="检察院",
        definition="A named people's procuratorate.",
        boundary="The full name, ending in 检察院. Excludes 公诉机关 and 本院 when not followed by a name.",
        examples=("上海市长宁区人民检察院", "深圳市南山区人民检察院"),
        not_examples=("公诉机关 (role word)",),
    ),
    LabelInfo(
        name="APP",
        chinese="应用/平台",
        definition="A named mobile app, website or internet platform (including payment and chat services).",
        boundary=(
            "The platform name as written, including a product suffix that is part of the name "
            "(美团外卖, 京东商城, 微信支付). Excludes generic words after it (软件, 平台, 账号, APP, 客户端) "
            "and the operating company (北京三快科技有限公司 is ORG)."
        ),
        examples=("美团", "美团外卖", "京东", "支付宝", "微信", "QQ", "抖音", "拼多多", "闲鱼"),
        not_examples=("微信账号 (only 微信 is APP)", "某购物平台 (no name)"),
    ),
    LabelInfo(
        name="AMOUNT",
        chinese="金额",
        definition="A sum of money (stolen, gained, valued, paid, returned) outside a PENALTY span.",
        boundary=(
            "From the currency word (人民币, ¥, 港币, 美元) or the first digit to the unit (元, 万元) and any "
            "attached approximation (余, 多, 左右); a range 2万至3万元 is one span. Excludes leading "
            "verbs and nouns (价值, 计, 共计, 约, 现金) and quantities that are not money (kg, 克, 条)."
        ),
        examples=("人民币3,000元", "4400余元", "人民币1.2万元", "3000元左右", "2万至3万元", "人民币二千元"),
        not_examples=("现金500元 (only 500元)", "罚金人民币二千元 (inside a PENALTY span, not AMOUNT)"),
    ),
    LabelInfo(
        name="DATE",
        chinese="日期时间",
        definition="A calendar date or time, alone or as a range: offence times, birth dates, the judgment date.",
        boundary=(
            "From the first digit (or 同年/次日) to the last time word, including an attached time of "
            "day (上午, 晚, 21时30分) and the approximation 许 or 左右, 期间 after a range, and 的一天/某日. "
            "A range X至Y is one span. Excludes framing words 于, 自…起, 至…止 around a single date."
        ),
        examples=("2018年5月12日23时许", "二〇一七年六月二十八日", "2019年11月至2021年7月6日", "2020年11月", "次日凌晨"),
        not_examples=("案发后 (no date)", "三年 (a duration, part of a PENALTY)"),
    ),
    LabelInfo(
        name="LOCATION",
        chinese="地点",
        definition="A place: address, venue, administrative area where an act occurred or a person lives.",
        boundary=(
            "The place name as written, from the largest area to the smallest named unit (路, 号, 小区, "
            "车库, 出租屋); relational words after it (附近, 门口, 楼下, 内) stay out. Excludes places "
            "that are part of an ORG, COURT or PROCURATORATE name."
        ),
        examples=("本市长宁区福泉路某弄某号", "广州火车站", "浙江省杭州市西湖区", "某小区地下车库"),
        not_examples=("上海市长宁区人民法院 (a COURT)", "莘松路附近 (only 莘松路)"),
    ),
    LabelInfo(
        name="CHARGE",
        chinese="罪名",
        definition="A criminal charge name as written in the judgment.",
        boundary=(
            "The surface form including the final 罪 (盗窃罪, 贩卖毒品罪); excludes 犯, 构成 and 以…论处. "
            "A bare offence word without 罪 (盗窃) is not a CHARGE."
        ),
        examples=("盗窃罪", "侵犯公民个人信息罪", "贩卖毒品罪", "走私、贩卖、运输、制造毒品罪", "帮助信息网络犯罪活动罪"),
        not_examples=("盗窃 (no 罪)", "犯罪 (not a charge name)"),
    ),
    LabelInfo(
        name="PENALTY",
        chinese="刑罚",
        definition=(
            "One imposed penalty or its suspension: a principal penalty with its term, probation, "
            "a fine or confiscation with its amount, deprivation of political rights."
        ),
        boundary=(
            "One span per penalty: 有期徒刑三年三个月 / 缓刑三年 / 罚金人民币二万元 / 剥夺政治权利终身. "
            "Excludes 判处, 并处, 决定执行 and punctuation between penalties. A fine's amount sits "
            "inside the PENALTY span and is not also an AMOUNT. Statutory ranges (三年以下有期徒刑) "
            "are not PENALTY."
        ),
        examples=("有期徒刑三年三个月", "拘役六个月", "缓刑一年", "罚金人民币二千元", "死刑，缓期二年执行", "无期徒刑"),
        not_examples=("三年以下有期徒刑 (statutory range)", "并处罚金 (the verb is outside)"),
    ),
    LabelInfo(
        name="CASE_NO",
        chinese="案号",
        definition="A court case number or a procuratorate's document number for this or an earlier case.",
        boundary="From the opening bracket of the year to 号, inclusive.",
        examples=("（2017）沪0120刑初684号", "（2019）京01刑终123号", "沪闵检诉刑诉［2019］517号"),
    ),
    LabelInfo(
        name="LAW",
        chinese="法律条文",
        definition="A cited law, with the articles cited from it.",
        boundary=(
            "One span per law: the law name (with its 《》 if present) through the last article, paragraph "
            "or item cited from it (第六十七条第三款、第五十二条). Excludes 依照, 根据 and 之规定. "
            "A bare article list with no law name before it (第六十四条) is not tagged (docs/SPAN_GOLD.md)."
        ),
        examples=(
            "《中华人民共和国刑法》第二百六十四条、第六十七条第三款",
            "《中华人民共和国刑事诉讼法》第二百零一条",
            "刑法第二百五十三条之一",
        ),
    ),
)

LABELS: tuple[str, ...] = tuple(info.name for info in _INFOS)
"""All entity labels, in the fixed order used for tag ids and reports."""

LABEL_INFO: dict[str, LabelInfo] = {info.name: info for info in _INFOS}
"""Label name → its :class:`LabelInfo`."""

RULE_LABELS: tuple[str, ...] = (
    "DEFENDANT", "COURT", "PROCURATORATE", "APP", "AMOUNT", "DATE", "CHARGE", "PENALTY", "CASE_NO", "LAW",
)
"""Labels the rule pre-labeller emits; PERSON, ORG and LOCATION need a model."""


def label_info(label: str) -> LabelInfo:
    """Return the :class:`LabelInfo` of ``label``; unknown labels raise ``KeyError`` naming the known ones.

    >>> label_info("COURT").chinese
    '法院'
    """
    try:
        return LABEL_INFO[label]
    except KeyError:
        raise KeyError(f"unknown label {label!r}; known: {', '.join(LABELS)}") from None
