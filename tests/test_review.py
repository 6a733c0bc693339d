"""The review page: highlights slice the original text, everything is escaped, record fields link to
their evidence; and in a real headless Chromium, the page loads, keeps its highlights and links,
and renders (a screenshot is kept in ``artifacts/review.png``).

The browser test skips when Chromium is not installed (``apt-get install chromium
fonts-wqy-microhei``), or fails when ``NLP_JUDGMENTS_REQUIRE_BROWSER=1`` says CI must have it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import warnings
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from nlp_judgments.apps.review import render_review, write_review
from nlp_judgments.cli import main
from nlp_judgments.legal.records import build_record

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_TIMEOUT_S = 90
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page(HTMLParser):
    """The parts of a review page the tests look at: per document, its text as shown, its marks
    (with the text inside each) and its record fields."""

    def __init__(self, page: str):
        super().__init__()
        self.docs: dict[str, dict] = {}  # data-doc-id -> {"text", "marks", "fields", "ids", "spans", "error"}
        self.doc: dict | None = None
        self.in_text = False
        self.open_marks: list[dict] = []  # marks and evidence spans still open, innermost last
        self.html_attrs: dict = {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "html":
            self.html_attrs = a
        if tag == "article":
            self.doc = {"text": "", "marks": [], "fields": [], "ids": set(), "spans": set(),
                        "error": "error" in classes, "attrs": a}
            self.docs[a["data-doc-id"]] = self.doc
        elif tag == "div" and "text" in classes:
            self.in_text = True
        elif self.in_text and tag in ("mark", "span"):
            item = dict(a, tag=tag, inner="")
            self.open_marks.append(item)
            self.doc["spans"].add(a["data-span"])
            if "id" in a:
                self.doc["ids"].add(a["id"])
            if tag == "mark":
                self.doc["marks"].append(item)
        elif self.in_text:
            raise AssertionError(f"unexpected <{tag}> inside the text")
        elif tag in ("a", "span") and "fld" in classes and self.doc is not None:
            self.doc["fields"].append(a)

    def handle_endtag(self, tag):
        if self.in_text and tag in ("mark", "span"):
            self.open_marks.pop()
        elif self.in_text and tag == "div":
            self.in_text = False
            assert not self.open_marks, "unclosed marks"

    def handle_data(self, data):
        if self.in_text:
            self.doc["text"] += data
            for m in self.open_marks:
                m["inner"] += data


def line(doc_id: str, marked: list[tuple[str, str | None]], **extra) -> dict:
    """A tagged line from (surface, label) pieces; label None is plain text."""
    text, entities = "", []
    for surface, label in marked:
        if label:
            entities.append({"start": len(text), "end": len(text) + len(surface), "label": label, "text": surface,
                             "score": 0.9})
        text += surface
    return {"id": doc_id, "text": text, "entities": entities, **extra}


def check_doc(doc: dict, text: str, entities: list[dict]) -> None:
    """The page shows exactly ``text``; every mark holds ``text[start:end]``; every entity is covered."""
    assert doc["text"] == text
    for m in doc["marks"]:
        s, e = int(m["data-start"]), int(m["data-end"])
        assert m["inner"] == text[s:e]
    for ent in entities:
        key = f"{ent['start']}-{ent['end']}"
        pieces = sorted((int(m["data-start"]), int(m["data-end"])) for m in doc["marks"]
                        if m["data-span"] == key and m["data-label"] == ent["label"])
        assert pieces and pieces[0][0] == ent["start"] and pieces[-1][1] == ent["end"], (ent, pieces)
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:])), pieces  # contiguous fragments


TRICKY = {
    "plain": ("被告人张某犯盗窃罪。", [(3, 5, "DEFENDANT"), (6, 9, "CHARGE")]),
    "adjacent": ("张某李某", [(0, 2, "DEFENDANT"), (2, 4, "PERSON")]),
    "nested": ("杭州市临平区人民法院", [(0, 10, "COURT"), (0, 6, "LOCATION")]),
    "crossing": ("ABCDEFG", [(0, 4, "ORG"), (2, 6, "LOCATION"), (3, 7, "DATE")]),
    "same span twice": ("美团外卖", [(0, 4, "APP"), (0, 4, "ORG")]),
    "whole text": ("张某", [(0, 2, "DEFENDANT")]),
    "emoji and newlines": ("😀被告人\n王某🚗于\r\n2020年", [(4, 7, "DEFENDANT"), (11, 16, "DATE")]),
    "markup in text": ('<script>alert("x")</script>&amp;被告人<b>李某</b>', [(0, 8, "ORG"), (38, 40, "DEFENDANT")]),
    "empty": ("", []),
    "no entities": ("本院认为，被告人犯罪事实清楚。", []),
}


@pytest.mark.parametrize("name", list(TRICKY))
def test_marks_slice_the_original_text(name):
    text, spans = TRICKY[name]
    entities = [{"start": s, "end": e, "label": label} for s, e, label in spans]
    page = Page(render_review([{"id": name, "text": text, "entities": entities}]))
    check_doc(page.docs[name], text, entities)
    assert len({m.get("id") for m in page.docs[name]["marks"] if "id" in m}) == len(
        {(e["start"], e["end"]) for e in entities})  # one id per span: the target of record links


def test_crossing_entities_are_split_into_fragments():
    page = Page(render_review([{"id": "x", "text": "ABCDEF", "entities": [
        {"start": 0, "end": 4, "label": "ORG"}, {"start": 2, "end": 6, "label": "LOCATION"}]}]))
    loc = [(m["data-start"], m["data-end"], "frag" in m["class"]) for m in page.docs["x"]["marks"]
           if m["data-label"] == "LOCATION"]
    assert loc == [("2", "4", True), ("4", "6", True)]


def test_everything_from_the_input_is_escaped():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    lines = [
        {"id": evil, "text": evil + "被告人张某", "entities": [{"start": 0, "end": 8, "label": evil}],
         "record": {"court": {"value": evil, "evidence": [{"start": 0, "end": 8, "text": "<script>"}]},
                    "defendants": [], "warnings": [evil]}},
        {"id": "e", "error": evil, "source": evil},
        {"id": evil, "entities": []},
    ]
    page = render_review(lines, title=evil, notes=[evil])
    assert page.count("<script") == 1  # the page's own script, and no other
    assert "<img" not in page and "alert(1)>" not in page
    parsed = Page(page)
    check_doc(parsed.docs[evil], lines[0]["text"], [])
    assert parsed.docs[evil]["marks"][0]["data-label"] == evil


def test_empty_input_is_a_valid_page():
    page = render_review([])
    assert page.startswith("<!DOCTYPE html>") and "No lines to show" in page
    assert '<meta charset="utf-8">' in page


def test_errors_and_lines_without_text_are_listed():
    lines = [
        line("ok", [("被告人", None), ("张某", "DEFENDANT")]),
        {"id": "broken", "error": "invalid UTF-8", "source": "corpus.jsonl:2"},
        {"id": "bare", "source": "corpus.jsonl:3", "entities": [{"start": 0, "end": 2, "label": "COURT"}]},
    ]
    page = render_review(lines)
    parsed = Page(page)
    assert parsed.docs["broken"]["error"] and "invalid UTF-8" in page and "corpus.jsonl:2" in page
    assert '<li class="err"><a href="#doc-1">broken</a>' in page
    assert "bare" not in parsed.docs and 'id="no-text"' in page and "--include-text" in page
    assert "1 judgment · 1 error · 1 without text" in page


def test_quoted_text_that_differs_is_highlighted_by_offsets_with_a_note():
    text = "被告人张某"
    page = render_review([{"id": "x", "text": text, "entities": [{"start": 3, "end": 5, "label": "DEFENDANT", "text": "李某"}]}])
    parsed = Page(page)
    assert not parsed.docs["x"]["error"]
    assert [(m["data-start"], m["data-end"]) for m in parsed.docs["x"]["marks"]] == [("3", "5")]
    assert "differs from the text" in page


def demo_lines() -> list[dict]:
    """The bundled demo judgments as tagged lines: gold spans, and records built from them."""
    path = resources.files("nlp_judgments") / "resources" / "demo" / "judgments.jsonl"
    out = []
    for raw in path.read_text("utf-8").splitlines():
        d = json.loads(raw)
        ents = [dict(e, text=d["text"][e["start"]:e["end"]], score=1.0) for e in d["entities"]]
        out.append({"id": d["id"], "source": f"demo:{d['id']}", "text": d["text"], "entities": ents,
                    "record": build_record(d["text"], ents)})
    return out


def test_record_fields_link_to_their_evidence():
    lines = demo_lines()
    page = Page(render_review(lines))
    for ln in lines:
        doc = page.docs[ln["id"]]
        check_doc(doc, ln["text"], ln["entities"])
        for f in doc["fields"]:  # no dangling link: every evidence key is a span of the same document
            if "data-evidence" in f:
                assert set(f["data-evidence"].split()) <= doc["spans"], f
                assert f["href"][1:] in doc["ids"]
    doc = page.docs["demo-001"]
    court = next(f for f in doc["fields"] if f["data-field"] == "court")
    marks = [m for m in doc["marks"] if m["data-span"] in court["data-evidence"].split()]
    assert {m["data-label"] for m in marks} == {"COURT"}
    assert marks[0]["inner"] == lines[0]["record"]["court"]["value"] == "浙江省杭州市临平区人民法院"
    assert any(f["data-field"] == "defendants.0.sentence.months" for f in doc["fields"])
    # Evidence that is no entity (a defendant's gender) still gets an element to scroll to.
    gender = next(f for f in doc["fields"] if f["data-field"] == "defendants.0.gender")
    assert gender["data-evidence"] in doc["spans"]


def test_write_review_reads_jsonl_with_a_limit(tmp_path, capsys):
    src = tmp_path / "out.jsonl"
    a, b = (json.dumps(line(i, [("被告人", None), ("张某", "DEFENDANT")]), ensure_ascii=False) for i in "ab")
    src.write_text(f"{a}\n\n{{not json\n[1, 2]\n{b}\n", encoding="utf-8")
    stats = write_review(src, tmp_path / "all.html")
    assert stats == {"output": str(tmp_path / "all.html"), "judgments": 2, "errors": 2, "without_text": 0,
                     "not_shown": 0}
    page = (tmp_path / "all.html").read_text("utf-8")
    assert "malformed JSON" in page and f"{src}:3" in page and "not a JSON object" in page

    assert main(["review", str(src), "-o", str(tmp_path / "one.html"), "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["not_shown"] == 3
    assert "3 more not shown" in (tmp_path / "one.html").read_text("utf-8")
    assert main(["review", str(tmp_path / "missing.jsonl")]) == 2


# --- a real browser --------------------------------------------------------------------------------

def find_chromium() -> str:
    """Chromium's path; skip without it, or fail when NLP_JUDGMENTS_REQUIRE_BROWSER=1 (CI).

    Without a CJK font the page still loads but the screenshot shows boxes: required in CI too."""
    required = os.environ.get("NLP_JUDGMENTS_REQUIRE_BROWSER") == "1"
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        reason = "Chromium is not installed (Debian: apt-get install chromium fonts-wqy-microhei)"
        if required:
            pytest.fail(reason + ", and NLP_JUDGMENTS_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    fc_list = shutil.which("fc-list")  # fontconfig's lister: without it, fonts cannot be checked here
    fonts = fc_list and subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30)
    if fonts and not fonts.stdout.strip():
        reason = "no CJK font: the screenshot would show boxes (Debian: apt-get install fonts-wqy-microhei)"
        if required:
            pytest.fail(reason)
        warnings.warn(reason)
    return exe


def run_chromium(exe: str, profile: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile; return stdout. The whole process group is killed
    on timeout (Chromium forks helpers that would outlive a plain kill)."""
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish in {CHROMIUM_TIMEOUT_S}s: {' '.join(cmd)}")
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_page_in_headless_chromium(tmp_path):
    chromium = find_chromium()
    lines = demo_lines()
    evil = "被告人王某\n<script>document.title='pwned'</script>"
    lines.insert(2, {"id": "evil", "text": evil, "entities": [{"start": 3, "end": 5, "label": "DEFENDANT"}]})
    lines.insert(4, {"id": "broken", "error": "malformed JSON (Expecting value at column 1)", "source": "out.jsonl:5"})
    page = render_review(lines, title="Demo review")
    # After load, click the court field as a reader would: its handler records which mention it went to.
    click = "<script>document.querySelector('#doc-0 a.fld[data-field=court]').click()</script></body>"
    html_path = tmp_path / "review.html"
    html_path.write_text(page.replace("</body>", click), encoding="utf-8")

    dom = run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", html_path.as_uri())
    parsed = Page(dom)
    assert parsed.html_attrs.get("data-ready") == "1", "the page's script did not run to the end"
    assert "<title>Demo review</title>" in dom  # the judgment's <script> stayed text
    doc = parsed.docs["demo-001"]
    check_doc(doc, lines[0]["text"], lines[0]["entities"])
    by_label = {(m["data-label"], m["inner"]) for m in doc["marks"]}
    assert ("DEFENDANT", "陈志强") in by_label and ("COURT", "浙江省杭州市临平区人民法院") in by_label
    court = next(f for f in doc["fields"] if f["data-field"] == "court")
    assert court["data-next"] == "1" and court["href"] == "#d0-0-13"
    assert "d0-0-13" in doc["ids"]
    check_doc(parsed.docs["evil"], evil, lines[2]["entities"])
    assert parsed.docs["broken"]["error"]

    shot = tmp_path / "review.png"
    run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,900",
                 "--hide-scrollbars", html_path.as_uri())
    assert png_size(shot) == (1280, 900)
    assert shot.stat().st_size > 30_000  # text and colour, not a blank page
    artifact = REPO / "artifacts" / "review.png"
    artifact.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, artifact)
