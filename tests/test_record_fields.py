"""Record fields read from the part where they belong: court, case number, procuratorate and date from
header, party lines and signature; defendants from the party lines (masked names, middle dots, aliases,
counsel and guardians, unit defendants). Golden cases on invented judgments in the corpus's layouts
(fictional names, courts and numbers); each uncertain reading is flagged."""

from __future__ import annotations

import jsonschema
import pytest

from nlp_judgments.legal.records import build_record, record_from_rules, record_schema

VALIDATOR = jsonschema.Draft202012Validator(record_schema())
COURT = "青山市东湖区人民法院"
NUMBER = "（2019）青0102刑初321号"
PARTIES = "公诉机关青山市东湖区人民检察院。 被告人赵某某，男，1990年5月6日出生，汉族。因本案于2019年1月2日被刑事拘留。"
PROCEDURE = ("青山市东湖区人民检察院以青东检刑诉（2019）45号起诉书指控被告人赵某某犯盗窃罪，于2019年3月1日向本院提起公诉。"
             "本院公开开庭审理了本案。现已审理终结。")
VERDICT = "被告人赵某某犯盗窃罪，判处拘役三个月，并处罚金人民币一千元。"
SIGNATURE = "审判员孙某 二〇一九年三月十五日 书记员李某"


def judgment(*, title="", header=None, parties=PARTIES, procedure=PROCEDURE, verdict=VERDICT,
             notice="如不服本判决，可在接到判决书的第二日起十日内提出上诉。", signature=SIGNATURE, appendix="") -> str:
    header = header if header is not None else f"{COURT} 刑事判决书 {NUMBER}"
    reasoning = "本院认为，被告人的行为已构成犯罪。依照《中华人民共和国刑法》第二百六十四条之规定，判决如下："
    return " ".join(p for p in (title, header, parties, procedure, reasoning, verdict, notice, signature, appendix) if p)


def record(text: str) -> dict:
    rec = record_from_rules(text)
    VALIDATOR.validate(rec)
    return rec


def value(f):
    return None if f is None else f["value"]


def uncertain(f) -> bool:
    return bool(f and f.get("uncertain"))


# --- header, procuratorate and date --------------------------------------------------------------

def test_header_fields_come_from_the_header_not_a_title_or_a_prior_conviction():
    parties = PARTIES.replace("汉族。", "汉族。2015年因犯盗窃罪被青山市西湖区人民法院以（2015）青0103刑初9号刑事判决判处有期徒刑六个月。")
    rec = record(judgment(title="赵某某盗窃一审刑事判决书 终稿", parties=parties,
                          notice="如不服本判决，可通过本院或者直接向青山市中级人民法院提出上诉。"))
    assert (value(rec["court"]), value(rec["case_number"])) == (COURT, NUMBER)
    assert rec["case_number"]["court_code"] == "青0102" and rec["case_number"]["procedure"] == "刑初"
    assert value(rec["procuratorate"]) == "青山市东湖区人民检察院"
    assert value(rec["judgment_date"]) == "2019-03-15"
    assert [s["kind"] for s in rec["sections"]][:3] == ["title", "header", "parties"]
    assert not any(uncertain(rec[k]) for k in ("court", "case_number", "procuratorate", "judgment_date"))


@pytest.mark.parametrize("court", [
    "云岭省青溪哈尼族彝族自治州中级人民法院", "青溪苗族侗族自治县人民法院", "青山铁路运输法院", "东海海事法院",
    "新疆生产建设兵团第十五师中级人民法院", "青山林区中级法院", "青山农垦中级法院", "青山市市北区人民法院",
])
def test_courts_are_taken_as_the_header_writes_them(court):
    assert value(record(judgment(header=f"{court} 刑事判决书 {NUMBER}"))["court"]) == court


@pytest.mark.parametrize("number, regular", [
    ("（2019）兵0801刑初12号", True), ("（2018）青72刑初3号", True), ("(2017)青7101刑初5号", True),
    ("（2014）青东刑初字第00034号", True), ("青东刑初字第117号", False), ("（2015）青东初字第273号", False),
])
def test_case_numbers_regular_and_irregular(number, regular):
    rec = record(judgment(header=f"{COURT} 刑事判决书 {number}"))
    assert value(rec["case_number"]) == number
    assert uncertain(rec["case_number"]) is not regular
    assert any(w.startswith("case_number:") for w in rec["warnings"]) is not regular


@pytest.mark.parametrize("line, expected, pieces", [
    ("原公诉机关青山市东湖区人民检察院。", "青山市东湖区人民检察院", 1),
    ("公诉机关：青山市东湖区人民检察院。", "青山市东湖区人民检察院", 1),
    ("原公诉暨公益诉讼机关青溪苗族侗族自治县（以下简称青溪县）人民检察院。", "青溪苗族侗族自治县人民检察院", 2),
])
def test_procuratorate_from_the_party_line(line, expected, pieces):
    rec = record(judgment(parties=line + " " + PARTIES.split(" ", 1)[1]))
    assert value(rec["procuratorate"]) == expected
    assert len(rec["procuratorate"]["evidence"]) == pieces  # the note is cut out of the evidence


def test_procuratorate_on_a_protest_is_the_office_that_prosecuted():
    parties = "抗诉机关青山市人民检察院。 原审被告人赵某某，男，1990年5月6日出生。"
    procedure = "青山市东湖区人民检察院指控原审被告人赵某某犯盗窃罪一案，本院于2018年作出刑事判决。青山市人民检察院提出抗诉。"
    rec = record(judgment(parties=parties, procedure=procedure))
    assert value(rec["procuratorate"]) == "青山市东湖区人民检察院" and uncertain(rec["procuratorate"])


def test_a_one_off_garble_of_the_procuratorate_is_replaced_and_flagged():
    parties = PARTIES.replace("青山市东湖区人民检察院", "青山东湖区人民检察院")
    procedure = PROCEDURE + " 青山市东湖区人民检察院指派检察员出庭支持公诉。"
    rec = record(judgment(parties=parties, procedure=procedure))
    assert value(rec["procuratorate"]) == "青山市东湖区人民检察院" and uncertain(rec["procuratorate"])


def test_a_short_form_used_consistently_is_kept():
    short = "青山市东湖人民检察院"
    rec = record(judgment(parties=PARTIES.replace("青山市东湖区人民检察院", short),
                          procedure=PROCEDURE.replace("青山市东湖区人民检察院", short)))
    assert value(rec["procuratorate"]) == short and not uncertain(rec["procuratorate"])


def test_a_private_prosecution_has_no_procuratorate():
    parties = "自诉人周某，男，1970年1月1日出生。 被告人赵某某，男，1990年5月6日出生。"
    rec = record(judgment(parties=parties, procedure="自诉人周某以被告人赵某某犯侮辱罪，向本院提起自诉。"))
    assert rec["procuratorate"] is None and not any(w.startswith("procuratorate") for w in rec["warnings"])


@pytest.mark.parametrize("written, expected, flagged", [
    ("二〇一九年三月十五日", "2019-03-15", False),
    ("二O一九年三月十五日", "2019-03-15", False),  # Latin O
    ("二0一九年三月十五日", "2019-03-15", False),  # digit 0
    ("二〇一九年三月七无", "2019-03-07", True),  # 七无 for 七日
    ("二Ο二Ο一九年三月十五日", "2019-03-15", True),  # a duplicated year
])
def test_signature_dates_read_through_typos(written, expected, flagged):
    rec = record(judgment(signature=f"审判员孙某 {written} 书记员李某"))
    assert value(rec["judgment_date"]) == expected and uncertain(rec["judgment_date"]) is flagged


def test_an_appended_blank_template_does_not_change_the_record():
    template = (f"{COURT} 刑事判决书 {NUMBER} 公诉机关×××人民检察院。 被告人赵某某，男。 本院认为，……判决如下："
                " 被告人赵某某犯盗窃罪，免予刑事处罚。 审判长 审判员 二〇一九年四月二日 书记员李某")
    plain, with_template = record(judgment()), record(judgment(appendix="附：相关法律条文 …… " + template))
    for key in ("court", "case_number", "procuratorate", "judgment_date"):
        assert value(plain[key]) == value(with_template[key])
    d = with_template["defendants"][0]
    assert (d["sentence"]["type"]["value"], d["sentence"]["months"]["value"], d["fine_yuan"]["value"]) == ("拘役", 3, 1000)


# --- party lines ----------------------------------------------------------------------------------

def test_defendants_separated_by_counsel_and_guardian_lines():
    parties = ("公诉机关青山市东湖区人民检察院。 被告人赵某某，男，2002年5月6日出生。 法定代理人钱某（系被告人赵某某之母），"
               "女，1975年1月1日出生。 辩护人孙某，某律师事务所律师。 被告人李XX，女，1991年2月3日出生。 "
               "辩护人周某、吴某，某律师事务所律师。 被告人王××，男，1992年3月4日出生。 被告人张xx，男，1993年4月5日出生。")
    verdict = ("一、被告人赵某某犯盗窃罪，判处拘役三个月。 二、被告人李XX犯盗窃罪，判处拘役二个月。 "
               "三、被告人王××犯盗窃罪，判处拘役一个月。 四、被告人张xx犯盗窃罪，判处拘役四个月。")
    rec = record(judgment(parties=parties, verdict=verdict))
    assert [(value(d["name"]), d["sentence"]["months"]["value"]) for d in rec["defendants"]] == [
        ("赵某某", 3), ("李XX", 2), ("王××", 1), ("张xx", 4)]
    assert [value(d["gender"]) for d in rec["defendants"]] == ["男", "女", "男", "男"]


def test_names_with_a_middle_dot_aliases_and_nicknames():
    parties = ("公诉机关青山市东湖区人民检察院。 被告人艾力·买买提，男，1990年1月1日出生，维吾尔族。 "
               "被告人赵某某，曾用名赵甲、赵乙，绰号“小虎”，男，1991年1月1日出生。 被告人钱某（绰号：老三），男。 "
               "被告人自报孙某，男，1993年1月1日出生。 被告人周某某（自报），女。")
    verdict = " ".join(f"{i}、被告人{n}犯盗窃罪，判处拘役一个月。" for i, n in zip("一二三四五", ["艾力·买买提", "赵某某", "钱某", "孙某", "周某某"]))
    rec = record(judgment(parties=parties, verdict=verdict))
    got = {value(d["name"]): [value(a) for a in d["aliases"]] for d in rec["defendants"]}
    assert got == {"艾力·买买提": [], "赵某某": ["赵甲", "赵乙", "小虎"], "钱某": ["老三"], "孙某": [], "周某某": []}
    assert all(d["sentence"]["months"]["value"] == 1 for d in rec["defendants"])


def test_a_unit_defendant_and_its_representative():
    parties = ("公诉机关青山市东湖区人民检察院。 被告单位青山市某某科技有限公司，住所地青山市东湖区，法定代表人赵某。 "
               "诉讼代表人钱某，该公司员工。 被告人赵某，男，1970年1月1日出生。")
    verdict = ("一、被告单位青山市某某科技有限公司犯非法占用农用地罪，判处罚金人民币十万元。 "
               "二、被告人赵某犯非法占用农用地罪，判处有期徒刑一年，缓刑二年，并处罚金人民币五万元。")
    rec = record(judgment(parties=parties, verdict=verdict))
    unit, person = rec["defendants"]
    assert (value(unit["name"]), value(unit["unit"]), unit["sentence"], value(unit["fine_yuan"])) == (
        "青山市某某科技有限公司", True, None, 100000)
    assert [value(c) for c in unit["charges"]] == ["非法占用农用地罪"]
    assert (value(person["unit"]), person["sentence"]["probation_months"]["value"], value(person["fine_yuan"])) == (False, 24, 50000)
    assert not any("no sentence" in w for w in rec["warnings"])


def test_a_name_the_verdict_spells_differently_is_linked_with_a_warning():
    parties = "公诉机关青山市东湖区人民检察院。 被告人刘晓东，男，1990年1月1日出生。"
    rec = record(judgment(parties=parties, verdict="被告人刘小东犯盗窃罪，判处拘役三个月。"))
    (d,) = rec["defendants"]
    assert value(d["name"]) == "刘晓东" and d["sentence"]["months"]["value"] == 3
    assert any(w.startswith("刘晓东:") and "刘小东" in w for w in rec["warnings"])


def test_masked_names_one_character_apart_are_two_people():
    parties = "公诉机关青山市东湖区人民检察院。 被告人张某甲，男，1990年1月1日出生。"
    rec = record(judgment(parties=parties, verdict="一、被告人张某甲犯盗窃罪，判处拘役三个月。 二、被告人张某乙犯盗窃罪，判处拘役一个月。"))
    assert [(value(d["name"]), d["sentence"]["months"]["value"]) for d in rec["defendants"]] == [("张某甲", 3), ("张某乙", 1)]
    assert uncertain(rec["defendants"][1]["name"])


def test_a_judgment_in_one_paragraph():
    rec = record("被告人张某，男，1990年1月2日出生。判决如下：被告人张某犯盗窃罪，判处有期徒刑六个月。")
    (d,) = rec["defendants"]
    assert (value(d["name"]), value(d["birth_date"]), d["sentence"]["months"]["value"]) == ("张某", "1990-01-02", 6)


def test_without_party_lines_names_come_from_mentions_and_are_flagged():
    rec = record("经审理查明，被告人张某，男，1990年1月2日出生，于2019年1月1日窃得财物。判决如下：被告人张某犯盗窃罪，"
                 "判处有期徒刑六个月。")
    (d,) = rec["defendants"]
    assert value(d["name"]) == "张某" and uncertain(d["name"]) and d["sentence"]["months"]["value"] == 6
    assert any(w.startswith("张某:") and "no party line" in w for w in rec["warnings"])


def test_the_structure_alone_gives_the_record_without_any_entity():
    # A model that knows none of COURT, CASE_NO, PENALTY or CHARGE (CAIL-trained) loses nothing here.
    text = judgment(verdict="被告人赵某某犯盗窃罪，判处有期徒刑一年，缓刑二年，并处罚金人民币五千元。")
    bare, rules = build_record(text, []), record(text)
    VALIDATOR.validate(bare)
    for key in ("court", "case_number", "procuratorate", "judgment_date"):
        assert value(bare[key]) == value(rules[key]) is not None
    (d,) = bare["defendants"]
    assert (value(d["name"]), [value(c) for c in d["charges"]], d["sentence"]["months"]["value"],
            d["sentence"]["probation_months"]["value"], value(d["fine_yuan"])) == ("赵某某", ["盗窃罪"], 12, 24, 5000)


@pytest.mark.parametrize("sep", ["\n", "\r\n\u3000\u3000", ""], ids=["newlines", "indented", "no breaks"])
def test_layouts_other_than_spaces_give_the_same_record(sep):
    text = judgment(title="赵某某盗窃一审刑事判决书", verdict="一、被告人赵某某犯盗窃罪，判处拘役三个月，并处罚金人民币一千元。 "
                    "二、责令被告人赵某某退赔被害人经济损失人民币五百元。")
    plain, other = record(text), record(text.replace(" ", sep))
    for key in ("court", "case_number", "procuratorate", "judgment_date"):
        assert value(other[key]) == value(plain[key]) is not None, key
    summary = [(value(d["name"]), d["sentence"]["months"]["value"], value(d["fine_yuan"])) for d in other["defendants"]]
    assert summary == [("赵某某", 3, 1000)]
