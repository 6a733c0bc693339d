"""Case records: golden records of the bundled demo judgments (gold spans and rules), the shipped
JSON Schema, evidence that slices the text, verdict linking corner cases, hostile inputs, and long texts
(the linear-time parts against the plain versions they replace; no quadratic blow-up)."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

import nlp_judgments.legal.schema
from nlp_judgments.legal import defendants, evidence, verdict
from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.records import (
    build_record,
    combine_spans,
    record_from_rules,
    record_schema,
)
from nlp_judgments.spans import Span, read_spans_jsonl

DEMO = Path(nlp_judgments.legal.schema.__file__).parents[1] / "resources" / "demo" / "judgments.jsonl"
DOCS = {d.id: d for d in read_spans_jsonl(DEMO)}
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "records_speed.py"
VALIDATOR = jsonschema.Draft202012Validator(record_schema())

# Read off the demo texts by hand: (name, gender, birth, charges, type, months, probation, fine, gain).
EXPECTED = {
    "demo-001": [
        ("陈志强", "男", "1994-07-03", ["侵犯公民个人信息罪"], "有期徒刑", 36, 48, 40000, 41230),
        ("林某某", "女", "1998-02-20", ["侵犯公民个人信息罪"], "有期徒刑", 18, 24, 20000, 16000),
        ("吴3", "男", "1991-11-08", ["侵犯公民个人信息罪"], "有期徒刑", 39, 0, 50000, 28000),
    ],
    "demo-002": [("黄小龙", "男", "1987-09-15", ["盗窃罪"], "有期徒刑", 22, 0, 5000, None)],
    "demo-003": [
        ("郑某某", "男", "1999-04-01", ["诈骗罪"], "有期徒刑", 48, 0, 40000, None),
        ("梁二", "男", "2000-10-27", ["诈骗罪"], "有期徒刑", 38, 0, 30000, None),
    ],
    "demo-004": [("何文杰", "男", "2002-01-09", ["帮助信息网络犯罪活动罪"], "拘役", 5, 6, 3000, 2400)],
    "demo-005": [("罗某", "男", "1983-12-02", ["走私、贩卖、运输、制造毒品罪"], "有期徒刑", 42, 0, 8000, 1300)],
    "demo-006": [("孟凡强", "男", "1978-05-30", ["危险驾驶罪"], "拘役", 2, 3, 4000, None)],
    "demo-007": [("刘某某", "男", "1990-06-06", ["故意伤害罪"], "有期徒刑", 24, 36, None, None)],
    "demo-008": [
        ("苏某某", "男", "1985-03-14", ["开设赌场罪"], "有期徒刑", 66, 0, 100000, 620000),
        ("林志明", "男", "1992-08-21", ["开设赌场罪"], "有期徒刑", 36, 0, 50000, 85000),
        ("黄4", "女", "1996-05-05", ["开设赌场罪"], "有期徒刑", 12, 24, 20000, 30000),
    ],
    # 马某: the per-charge fine (盗窃罪, 二千元) is summed because 决定执行 states none.
    "demo-009": [
        ("马某", "男", "1988-10-10", ["抢劫罪", "盗窃罪"], "无期徒刑", None, 0, 2000, None),
        ("韩某某", "男", "1993-01-17", ["抢劫罪"], "有期徒刑", 144, 0, 20000, None),
    ],
    "demo-010": [
        ("钱立新", "男", "1976-02-28", ["非法吸收公众存款罪"], "有期徒刑", 72, 0, 300000, None),
        ("顾某", "女", "1984-07-19", ["非法吸收公众存款罪"], "有期徒刑", 36, 48, 100000, 430000),
    ],
    "demo-011": [("韦某", "男", "1986-04-09", ["故意杀人罪"], "死刑", None, 0, None, None)],
}
HEADER = {
    "demo-001": ("（2022）浙0113刑初215号", 2022, "浙0113", "刑初", "浙江省杭州市临平区人民法院", "浙江省杭州市临平区人民检察院", "2022-05-26"),
    "demo-007": ("（2019）湘01刑终688号", 2019, "湘01", "刑终", "湖南省长沙市中级人民法院", "湖南省长沙市岳麓区人民检察院", "2019-09-27"),
    "demo-011": ("（2018）桂01刑初57号", 2018, "桂01", "刑初", "广西壮族自治区南宁市中级人民法院", "广西壮族自治区南宁市人民检察院", "2018-06-15"),
}


def _summary(record: dict) -> list[tuple]:
    out = []
    for d in record["defendants"]:
        s = d["sentence"] or {}
        out.append((
            d["name"]["value"], d["gender"]["value"], d["birth_date"]["value"], [c["value"] for c in d["charges"]],
            s.get("type", {}).get("value"), s.get("months", {}).get("value"), s.get("probation_months", {}).get("value"),
            d["fine_yuan"]["value"], d["illegal_gain_yuan"]["value"],
        ))
    return out


def _evidence(node):
    """Every evidence entry anywhere in a record."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "evidence":
                yield from v
            else:
                yield from _evidence(v)
    elif isinstance(node, list):
        for v in node:
            yield from _evidence(v)


def _check_record(text: str, record: dict) -> None:
    VALIDATOR.validate(record)
    json.dumps(record, ensure_ascii=False)
    for ev in _evidence(record):
        assert text[ev["start"] : ev["end"]] == ev["text"]


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
@pytest.mark.parametrize("source", ["gold", "rules"])
def test_demo_records(doc_id, source):
    doc = DOCS[doc_id]
    record = build_record(doc.text, doc.spans) if source == "gold" else record_from_rules(doc.text)
    _check_record(doc.text, record)
    assert _summary(record) == [(*e[:4], *e[4:]) for e in EXPECTED[doc_id]]


@pytest.mark.parametrize("doc_id", sorted(HEADER))
def test_demo_header_fields(doc_id):
    doc = DOCS[doc_id]
    rec = build_record(doc.text, doc.spans)
    number, year, code, proc, court, proc_org, day = HEADER[doc_id]
    cn = rec["case_number"]
    assert (cn["value"], cn["year"], cn["court_code"], cn["procedure"]) == (number, year, code, proc)
    assert rec["court"]["value"] == court
    assert rec["procuratorate"]["value"] == proc_org
    assert rec["judgment_date"]["value"] == day
    assert rec["judgment_date"]["evidence"][0]["text"][:2] == "二〇"


def test_demo_001_details():
    doc = DOCS["demo-001"]
    rec = build_record(doc.text, doc.spans)
    # 抖音极速版 is listed under 抖音; each app appears once with every mention as evidence.
    assert [(a["value"], len(a["evidence"])) for a in rec["apps"]] == [
        ("美团", 1), ("京东", 1), ("抖音", 1), ("拼多多", 1), ("快手", 1), ("微信", 3), ("支付宝", 2)]
    wu = next(d for d in rec["defendants"] if d["name"]["value"] == "吴3")
    assert wu["sentence"]["months"]["evidence"][0]["text"] == "有期徒刑三年三个月"
    assert wu["sentence"]["probation_months"] == {"value": 0, "evidence": []}
    assert [e["text"] for e in wu["fine_yuan"]["evidence"]] == ["罚金人民币五万元"]
    assert {e["text"] for e in wu["illegal_gain_yuan"]["evidence"]} == {"人民币二万八千元左右", "人民币二万八千元"}
    amounts = {a["evidence"][0]["text"]: a["value"] for a in rec["amounts"]}
    assert amounts["人民币41,230元"] == 41230 and amounts["1.6万余元"] == 16000
    assert any("57,230" in w and "joint" in w for w in rec["warnings"])
    law = rec["law_articles"][0]
    assert law["law"] == "中华人民共和国刑法" and law["articles"][0] == "第二百五十三条之一"


def test_demo_011_death_with_reprieve():
    doc = DOCS["demo-011"]
    s = build_record(doc.text, doc.spans)["defendants"][0]["sentence"]
    assert (s["type"]["value"], s["months"]["value"], s["reprieve_months"]["value"]) == ("死刑", None, 24)


def test_demo_009_several_crimes_executed_life():
    doc = DOCS["demo-009"]
    ma = build_record(doc.text, doc.spans)["defendants"][0]
    assert ma["sentence"]["type"]["evidence"][0]["start"] > doc.text.index("决定执行")
    assert {(x["value"], x["life"], x["all_property"]) for x in ma["supplementary"]} == {
        ("剥夺政治权利", True, False), ("没收财产", False, True)}


HEAD = "上海市长宁区人民法院\n刑事判决书\n（2021）沪0105刑初88号\n公诉机关上海市长宁区人民检察院。\n被告人张某某，男，1990年3月4日出生，汉族。\n"
TAIL = "\n如不服本判决，可在接到判决书的第二日起十日内提出上诉。\n审判员　李某\n二〇二一年九月一日\n"


def test_several_crimes_executed_term_is_the_sentence():
    text = HEAD + (
        "本院认为，被告人张某某犯盗窃罪、诈骗罪，应数罪并罚。判决如下：\n"
        "被告人张某某犯盗窃罪，判处有期徒刑二年，并处罚金人民币五千元；犯诈骗罪，判处有期徒刑一年六个月，"
        "并处罚金人民币三千元，决定执行有期徒刑三年三个月，并处罚金人民币八千元。"
    ) + TAIL
    rec = record_from_rules(text)
    _check_record(text, rec)
    d = rec["defendants"][0]
    assert [c["value"] for c in d["charges"]] == ["盗窃罪", "诈骗罪"]
    assert d["sentence"]["months"]["value"] == 39
    assert d["fine_yuan"]["value"] == 8000
    assert rec["judgment_date"]["value"] == "2021-09-01"


@pytest.mark.parametrize("header, gender, birth", [
    ("被告人赵某，曾用名赵小某，男，1997年10月23日出生，汉族。", "男", "1997-10-23"),  # a clause before the gender
    ("被告人赵某，绰号“阿某”，女，1980年1月2日出生。", "女", "1980-01-02"),
    ("被告人赵某。因本案于2021年1月5日被取保候审。", None, None),  # a header without gender or birth
    ("被告人赵某，个体。", None, None),
    ("被告人赵某，男，出生于1966年11月12日，汉族。", "男", "1966-11-12"),
    ("被告人自报赵某，男，1993年2月12日出生。", "男", "1993-02-12"),  # a self-reported name
    ("被告人赵某（绰号兔子），男，1975年10月4日生，汉族。", "男", "1975-10-04"),
])
def test_party_headers_in_their_variants(header, gender, birth):
    text = "某某县人民法院\n刑事判决书\n" + header + "\n判决如下：\n被告人赵某犯盗窃罪，判处拘役三个月。" + TAIL
    rec = record_from_rules(text)
    _check_record(text, rec)
    (d,) = rec["defendants"]
    assert (d["name"]["value"], d["gender"]["value"], d["birth_date"]["value"]) == ("赵某", gender, birth)
    assert not any("no party header" in w for w in rec["warnings"])


@pytest.mark.parametrize("closing, expected", [
    ("审判员李某\n二O一八年五月二十八日\n书记员王某", "2018-05-28"),  # a Latin O for 〇
    ("审判员李某\n二〇一七年十一月九无\n书记员王某", "2017-11-09"),  # 九无 for 九日: read, marked uncertain
])
def test_judgment_date_is_never_a_bound_of_the_term(closing, expected):
    text = ("某某县人民法院\n刑事判决书\n被告人赵某，男。\n判决如下：\n被告人赵某犯盗窃罪，判处有期徒刑八个月"
            "（即自2017年3月16日起至2017年11月15日止）。\n" + closing)
    rec = record_from_rules(text)
    _check_record(text, rec)
    assert (rec["judgment_date"] or {}).get("value") == expected
    assert rec["judgment_date"].get("uncertain", False) == ("无" in closing)


def test_revoked_probation_is_flagged():
    text = HEAD + (
        "本院认为，被告人张某某在缓刑考验期内犯新罪。判决如下：\n"
        "一、撤销上海市长宁区人民法院（2019）沪0105刑初12号刑事判决中对被告人张某某宣告缓刑一年的部分；\n"
        "二、被告人张某某犯盗窃罪，判处有期徒刑八个月，与前罪有期徒刑六个月并罚，决定执行有期徒刑一年。"
    ) + TAIL
    rec = record_from_rules(text)
    _check_record(text, rec)
    d = rec["defendants"][0]
    assert d["probation_revoked"]["value"] is True
    assert d["sentence"]["months"]["value"] == 12
    assert any("撤销缓刑" in w for w in rec["warnings"])


@dataclass(frozen=True)
class _TaggerLike:  # the shape of tagger.Entity, without importing torch
    start: int
    end: int
    label: str
    text: str
    score: float


def test_accepts_spans_dicts_and_entities_alike():
    doc = DOCS["demo-006"]
    a = build_record(doc.text, doc.spans)
    b = build_record(doc.text, [s.to_dict() for s in doc.spans])
    c = build_record(doc.text, [_TaggerLike(s.start, s.end, s.label, doc.text[s.start:s.end], 0.9) for s in doc.spans])
    assert a == b == c


@pytest.mark.parametrize(
    "text,entities,needle",
    [
        ("", [], "no verdict section"),
        ("被告人张某，男。", [Span(3, 5, "DEFENDANT")], "no verdict section"),
        (HEAD + "判决如下：\n一、扣押在案的手机一部予以没收。" + TAIL, None, "names no convicted defendant"),
        ("判决如下：", [Span(0, 99, "DEFENDANT"), {"start": 1}, Span(2, 2, "DATE")], "ignored"),
        ("判决如下：被告人王某犯盗窃罪，判处。", [Span(8, 10, "DEFENDANT"), Span(11, 14, "CHARGE")], "no sentence"),
        ("判决如下：被告人王某犯盗窃罪，判处有期徒刑。", [Span(8, 10, "DEFENDANT"), Span(17, 21, "PENALTY")], "no sentence"),
    ],
)
def test_hostile_inputs_warn_not_raise(text, entities, needle):
    rec = build_record(text, prelabel_text(text) if entities is None else entities)
    _check_record(text, rec)
    assert any(needle in w for w in rec["warnings"]), rec["warnings"]


def test_record_from_rules_on_empty_text():
    rec = record_from_rules("")
    _check_record("", rec)
    assert rec["defendants"] == [] and rec["warnings"]


def test_schema_ships_with_the_package():
    jsonschema.Draft202012Validator.check_schema(record_schema())
    assert record_schema()["required"][-1] == "warnings"
    # The parts of the judgment and the uncertainty flag any field may carry are part of the shape.
    assert record_schema()["properties"]["sections"]["items"]["properties"]["kind"]["enum"][0] == "title"
    assert "uncertain" in record_schema()["$defs"]["field"]["properties"]
    with pytest.raises(jsonschema.ValidationError):  # uncertain is true or absent, never false
        VALIDATOR.validate({**record_from_rules(""), "court": {"value": "某县人民法院", "evidence": [], "uncertain": False}})


# ---------------------------------------------------------------------------------------------
# Linear time (issue 21): the rewritten parts against the plain versions they replace, and a guard
# against quadratic blow-up on long texts (the real figures: benchmarks/records_speed.py)

_ITEM_NUMBER = re.compile(r"[一二三四五六七八九十]+、")
_VERDICT_END_REGEX = re.compile(r"如不服本判决|本判决为终审判决|^\s*(?:审判长|审判员|人民陪审员)", re.M)


@pytest.mark.parametrize("seed", range(30))
def test_items_and_verdict_end_as_plain_scans_find_them(seed):
    # Items open a paragraph (after a newline or a space: the corpus writes paragraphs separated by
    # spaces) with 一、; text before the first one is an item of its own.
    rng = random.Random(seed)
    pieces = ["\n", " ", "\u3000", "\n\n", "一", "十二", "、", "审判长", "人民陪审员", "如不服本判决", "判决如下：", "张某", "。"]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 80)))
    lo = rng.randint(0, len(text))
    hi = rng.randint(lo, len(text))
    heads = [p for p in range(lo, hi) if (p == 0 or text[p - 1] in " \n\r\t\u3000") and _ITEM_NUMBER.match(text[:hi], p)]
    if heads and text[lo:heads[0]].strip():
        heads.insert(0, lo)
    assert [s for s, _ in verdict.items(text, lo, hi)] == (heads or [lo])
    bounds = verdict.verdict_bounds(text)
    starts = list(verdict._VERDICT_START.finditer(text))
    if starts:
        end = _VERDICT_END_REGEX.search(text, starts[-1].end())
        assert bounds == (starts[-1].end(), end.start() if end else len(text))
    else:
        assert bounds is None


@pytest.mark.parametrize("seed", range(20))
def test_combine_spans_as_pairwise_overlap_tests_did(seed):
    rng = random.Random(seed)

    def spans(n):
        return [Span(s, s + rng.randint(1, 9), rng.choice(["DEFENDANT", "PENALTY"])) for s in (rng.randrange(100) for _ in range(n))]

    model, rules = spans(rng.randint(0, 40)), spans(rng.randint(0, 40))
    kept = rules + [m for m in model if not any(m.start < r.end and r.start < m.end for r in rules)]
    assert combine_spans(model, rules) == sorted(kept, key=lambda e: (e.start, e.end))


@pytest.mark.parametrize("seed", range(20))
def test_entity_index_and_searcher_answer_as_scans_do(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice("被告人张某，男女。\n") for _ in range(200))
    raw = [dict(start=s, end=s + rng.randint(1, 8), label=rng.choice("AB")) for s in (rng.randrange(190) for _ in range(60))]
    ents = evidence.clean_entities(text, raw, [])
    every = sorted((evidence.Ent(e["start"], e["end"], e["label"], "") for e in raw), key=lambda x: (x.start, x.end))
    searcher = evidence.Searcher(defendants.GENDER, text)
    pos = 0
    for _ in range(30):
        lo, hi = sorted(rng.randrange(201) for _ in range(2))
        expected = [x.key for x in every if x.label == "A" and x.start >= lo and x.end <= hi]
        assert [x.key for x in ents.of("A", lo, hi)] == expected
        pos = rng.choice([pos, pos + rng.randint(0, 9), rng.randrange(200)])  # mostly growing, as headers do
        stop = rng.choice([200, rng.randrange(200)])
        found, plain = searcher(pos, stop), defendants.GENDER.search(text, pos, stop)
        assert (found and found.span()) == (plain and plain.span())


def _judgment_like():
    spec = importlib.util.spec_from_file_location("records_speed", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.judgment_like


NAMES = [a + b + c for a in "赵钱孙李周吴郑王冯陈" for b in "志伟芳敏静丽军磊洋勇" for c in "强明华平刚英杰涛超辉"]
VERDICT = "判决如下：\n一、被告人赵志强犯盗窃罪，判处有期徒刑一年。"


@pytest.mark.parametrize("case", ["judgment-like", "digit run", "blank lines", "headers in one sentence", "gains in one sentence"])
def test_long_texts_get_records_without_quadratic_blow_up(case):
    # A guard, not a benchmark: each took 10 s to minutes when parts of records were quadratic; now
    # well under a second (benchmarks/records_speed.py has the figures). 5 s leaves room for a busy CPU.
    text = {
        "judgment-like": lambda: _judgment_like()(200_000),
        "digit run": lambda: "被告人赵志强，男。" + VERDICT + "账号" + "1234567890" * 5_000,
        "blank lines": lambda: "被告人赵志强，男。" + VERDICT + "\n \n" * 60_000 + "审判长 李某",
        "headers in one sentence": lambda: "".join(f"被告人{n}，男，2019年1月2日，" for n in NAMES) * 8 + "。" + VERDICT,
        "gains in one sentence": lambda: "".join(f"被告人{n}获利人民币100元，" for n in NAMES) * 12 + "。" + VERDICT,
    }[case]()
    start = time.perf_counter()
    rec = record_from_rules(text)
    seconds = time.perf_counter() - start
    _check_record(text, rec)
    assert rec["defendants"] and rec["defendants"][0]["sentence"]["months"]["value"] == 12
    assert seconds < 5, f"{len(text):,} characters took {seconds:.1f} s"
