"""The judgment's structure (``legal/structure.py``): every part of invented judgments in the corpus's two
layouts (paragraphs separated by spaces, or by newlines), an appended blank template, and hostile inputs
that must give fewer sections, never an exception. All text here is made up for the tests."""

from __future__ import annotations

import random

import pytest

from nlp_judgments.legal.structure import KINDS, Section, find, paragraphs, segment

PARTS = {
    "title": "赵某某盗窃一审刑事判决书",
    "header": "青山市东湖区人民法院 刑事判决书 （2019）青0102刑初321号",
    "parties": "公诉机关青山市东湖区人民检察院。 被告人赵某某，男，1990年5月6日出生，汉族。2015年因犯盗窃罪被"
               "青山市西湖区人民法院判处有期徒刑六个月。因本案于2019年1月2日被刑事拘留。 辩护人钱某，某律师事务所律师。",
    "procedure": "青山市东湖区人民检察院以青东检刑诉（2019）45号起诉书指控被告人赵某某犯盗窃罪，于2019年3月1日向本院"
                 "提起公诉。本院依法适用简易程序，公开开庭审理了本案。现已审理终结。",
    "charge": "公诉机关指控：2018年12月30日，被告人赵某某在某超市窃得香烟两条，价值人民币五百元。",
    "facts": "经审理查明：2018年12月30日，被告人赵某某在某超市窃得香烟两条，价值人民币五百元。 上述事实，有证人证言等"
             "证据证实。",
    "reasoning": "本院认为，被告人赵某某以非法占有为目的，秘密窃取他人财物，其行为已构成盗窃罪。依照《中华人民共和国刑法》"
                 "第二百六十四条之规定，判决如下：",
    "verdict": "被告人赵某某犯盗窃罪，判处拘役三个月，并处罚金人民币一千元。 （刑期从判决执行之日起计算。）",
    "appeal_notice": "如不服本判决，可在接到判决书的第二日起十日内，通过本院或者直接向青山市中级人民法院提出上诉。",
    "signature": "审判员孙某 二〇一九年三月十五日 书记员李某",
    "appendix": "附：相关法律条文 《中华人民共和国刑法》 第二百六十四条 盗窃公私财物，数额较大的……",
}


def _judgment(sep: str = " ", **replace: str) -> str:
    parts = {**PARTS, **replace}
    return sep.join(parts[k].replace(" ", sep) for k in KINDS if parts.get(k))


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in segment(text)]


@pytest.mark.parametrize("sep", [" ", "\n"])
def test_every_part_of_a_judgment(sep):
    text = _judgment(sep)
    found = dict(_kinds(text))
    assert list(found) == list(KINDS)
    for kind in KINDS:
        expected = PARTS[kind].replace(" ", sep)
        if kind == "verdict":  # the reasoning keeps 判决如下：, the verdict starts after it
            assert found[kind] == expected
        else:
            assert found[kind] == expected, kind


def test_parts_that_are_missing_are_absent():
    text = _judgment(title="", charge="", facts="", appendix="", procedure="")
    assert [k for k, _ in _kinds(text)] == ["header", "parties", "reasoning", "verdict", "appeal_notice", "signature"]


def test_header_without_title_and_court_glued_to_the_document_type():
    text = _judgment(title="", header="青山市东湖区人民法院刑事判决书 （2019）青0102刑初321号")
    assert _kinds(text)[0] == ("header", "青山市东湖区人民法院刑事判决书 （2019）青0102刑初321号")


def test_an_appended_blank_template_is_appendix_not_a_second_verdict():
    template = ("青山市东湖区人民法院 刑事判决书 （2019）青0102刑初321号 公诉机关×××人民检察院。 本院认为，……判决如下："
                " 被告人赵某某犯盗窃罪，判处…… 审判长 审判员 二〇一九年四月二日 书记员李某")
    text = _judgment(appendix=PARTS["appendix"] + template)
    sections = segment(text)
    verdict = find(sections, "verdict")
    assert text[verdict.start : verdict.end] == PARTS["verdict"]
    signature = find(sections, "signature")
    assert "二〇一九年三月十五日" in text[signature.start : signature.end]
    assert find(sections, "appendix").end == len(text)


def test_a_space_inside_a_date_does_not_split_a_party_line():
    text = _judgment(parties=PARTS["parties"].replace("2019年1月2日", "2019 年1月2日"))
    parties = find(segment(text), "parties")
    assert text[parties.start : parties.end] == PARTS["parties"].replace("2019年1月2日", "2019 年1月2日")
    line = "2019 年1月2日 x"
    assert [line[s:e] for s, e in paragraphs(line)] == ["2019 年1月2日", "x"]


def test_an_appeal_keeps_its_parts():
    text = _judgment(
        header="青山市中级人民法院 刑事判决书 （2019）青01刑终12号",
        parties="原公诉机关青山市东湖区人民检察院。 上诉人（原审被告人）赵某某，男，1990年5月6日出生。",
        procedure="青山市东湖区人民法院审理青山市东湖区人民检察院指控原审被告人赵某某犯盗窃罪一案，于2019年3月15日作出"
                  "（2019）青0102刑初321号刑事判决。原审被告人赵某某不服，提出上诉。本院依法组成合议庭审理了本案。",
        charge="原判认定，2018年12月30日，被告人赵某某在某超市窃得香烟两条。 上诉人赵某某上诉称：量刑过重。",
        facts="经审理查明的事实与原判认定的事实一致。",
        appeal_notice="本判决为终审判决。",
    )
    assert [k for k, _ in _kinds(text)] == list(KINDS)


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "判决如下：", "本院认为", "被告人张某犯盗窃罪，判处拘役一个月。",
                                  "审判员", "刑事判决书", "如不服本判决", "（（（", None, 42])
def test_odd_inputs_give_fewer_sections_never_an_exception(text):
    sections = segment(text)
    assert all(isinstance(s, Section) and s.kind in KINDS for s in sections)


@pytest.mark.parametrize("seed", range(40))
def test_sections_are_ordered_disjoint_and_inside_the_text(seed):
    rng = random.Random(seed)
    pieces = [p for part in PARTS.values() for p in part.split(" ")] + ["判决如下：", "如不服本判决", "审判长王某", " ", "\n"]
    text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
    sections = segment(text)
    for a, b in zip(sections, sections[1:]):
        assert a.end <= b.start
    for s in sections:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start] not in " \n" and text[s.end - 1] not in " \n"
