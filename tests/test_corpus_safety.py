"""Corpus tagging never destroys data and never stops on one line: a foreign or input file given as
``-o`` is refused untouched, every input line gets exactly one output line whatever it holds (and a
resume gets past it), OS errors are one line, a FIFO among the inputs is skipped, not read.

The tagger is a stand-in (the machinery is tested, not the model); the CLI runs on a model folder
that is never loaded, because nothing in these runs gets as far as tagging.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import threading
from pathlib import Path

import pytest

from nlp_judgments.apps.corpus import ResumableWriter, TagOptions, tag_corpus
from nlp_judgments.cli import main

OURS = b'{"id": "a", "source": "in.jsonl:1", "chars": 5, "entities": []}\n'


class Tagger:
    """Finds nothing; raises, with a lone surrogate in its message, on a text that asks for it."""

    def tag(self, texts):
        if any("炸" in t for t in texts):
            raise RuntimeError("model broke on \ud800")
        return [[] for _ in texts]


def tag(src, out, **kw):
    return tag_corpus(Tagger, [src] if not isinstance(src, list) else src, out, TagOptions(progress=False, **kw))


@pytest.fixture
def model(tmp_path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "nlp_judgments.json").write_text("{}")
    return folder


def cli(capsys, model, *args) -> tuple[int, str]:
    code = main(["tag", "--model", str(model), "-q", *map(str, args)])
    return code, capsys.readouterr().err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    (line,) = [l for l in err.splitlines() if l.startswith("error:")]
    return line


@pytest.fixture
def no_hang():
    """Fail instead of hanging forever on a FIFO nobody writes."""

    class Blocked(Exception):  # not an OSError, which the reader would take for an unreadable file
        pass

    def timeout(*_):
        raise Blocked("the run blocked (reading a FIFO?)")

    old = signal.signal(signal.SIGALRM, timeout)
    # Sent to this thread: a process-wide alarm may land on another thread (tqdm's monitor) and
    # leave this one blocked in open().
    timer = threading.Timer(20, signal.pthread_kill, (threading.get_ident(), signal.SIGALRM))
    timer.start()
    yield
    timer.cancel()
    signal.signal(signal.SIGALRM, old)


# --- an existing -o ---------------------------------------------------------------------------


FOREIGN = {
    "notes": "我的笔记：明天开庭。\nsecond line\n".encode(),
    "csv": b"id,text\n1,abc\n",
    "notes without a newline": b"remember the milk",
    "an input JSONL": b'{"id": "a", "text": "\xe8\xa2\xab\xe5\x91\x8a\xe4\xba\xba"}\n',
    "ours, then a broken line, then ours": OURS + b'{"id": "b", "sou\n' + OURS.replace(b'"a"', b'"c"'),
    "ours, then a blank line": OURS + b"\n" + OURS.replace(b'"a"', b'"c"'),
    "ours with a foreign key": OURS.replace(b'"chars"', b'"score"'),
    "ours, then a foreign unfinished line": OURS + b"id,text",
    "binary": bytes(range(256)) * 4,
    "a deep JSON line": b"[" * 100_000 + b"]" * 100_000 + b"\n",
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_a_file_that_is_not_our_output_is_refused_and_left_byte_identical(kind, model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "被告人张某。"}\n', encoding="utf-8")
    out = tmp_path / "out.txt"
    out.write_bytes(FOREIGN[kind])
    code, err = cli(capsys, model, src, "-o", out)
    assert code == 2 and "not the output of `tag`" in one_error_line(err) and "Give -o a new file" in err
    assert out.read_bytes() == FOREIGN[kind]


def test_a_shard_refuses_a_foreign_output_before_tagging(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "被告人张某。"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_bytes(FOREIGN["csv"])
    with pytest.raises(ValueError, match="not the output of `tag`"):
        tag_corpus(Tagger, [src], out, TagOptions(progress=False), shard=(1, 2))
    assert out.read_bytes() == FOREIGN["csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no shard file either


def test_resuming_cuts_a_partial_last_line_and_nothing_else(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": "被告人张某。"}) + "\n" for i in "abc"), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    tag(src, out)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:2]) + lines[2][:9])  # killed while writing the third line
    stats = tag(src, out)
    assert stats.skipped == 2 and stats.docs == 1
    assert out.read_bytes().splitlines(keepends=True)[:2] == lines[:2]
    assert [json.loads(l)["id"] for l in out.read_bytes().splitlines()] == ["a", "b", "c"]


def test_a_resume_with_nothing_left_says_so(tmp_path, caplog):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "被告人张某。"}\n{"id": "b"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    tag(src, out)
    with caplog.at_level(logging.INFO, logger="nlp_judgments.apps.corpus"):
        stats = tag(src, out)
    assert stats.skipped == 2 and stats.docs == stats.errors == 0
    assert "nothing to do: all 2 input documents are already in it" in caplog.text


# --- -o equal to an input ---------------------------------------------------------------------


def _same_path(tmp_path):
    src = tmp_path / "in.jsonl"
    return [src], src


def _via_symlink(tmp_path):
    src = tmp_path / "in.jsonl"
    (tmp_path / "link.jsonl").symlink_to(src)
    return [src], tmp_path / "link.jsonl"


def _via_hard_link(tmp_path):
    src = tmp_path / "in.jsonl"
    os.link(src, tmp_path / "hard.jsonl")
    return [tmp_path / "hard.jsonl"], src


def _txt_in_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("被告人张某。", encoding="utf-8")
    return [tmp_path / "docs"], tmp_path / "docs" / "a.txt"


def _new_txt_in_folder(tmp_path):  # not there yet: the run would list it among its own inputs
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    return [tmp_path / "docs"], tmp_path / "docs" / "sub" / "out.txt"


def _linked_into_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"")
    (tmp_path / "docs" / "b.txt").symlink_to(out)
    return [tmp_path / "docs"], out


@pytest.mark.parametrize("clean", [True, False], ids=["clean input", "input with a bad line"])
@pytest.mark.parametrize("case", [_same_path, _via_symlink, _via_hard_link, _txt_in_folder, _new_txt_in_folder,
                                  _linked_into_folder])
def test_an_output_that_is_also_an_input_is_refused(case, clean, model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": "a", "text": "x"}\n' + (b"" if clean else b"not json\n") + b'{"id": "b", "text": "y"}\n')
    inputs, out = case(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, err = cli(capsys, model, *inputs, "-o", out)
    assert code == 2 and "-o is also an input" in one_error_line(err)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written or created


# --- hostile lines ----------------------------------------------------------------------------


HOSTILE = [  # (raw line, expected id, fragment of the error or None when tagged)
    ('{"id": "ok", "text": "被告人张某。"}'.encode(), "ok", None),
    (b'{"id": "a\\ud800b", "text": "x"}', None, "unpaired surrogate"),
    (b'{"id": "\\udfff", "text": "x"}', None, "unpaired surrogate"),
    (b'{"id": ' + b"7" * 5000 + b', "text": "x"}', None, "unreadable JSON"),
    (b'{"id": "n", "text": ' + b"7" * 5000 + b"}", None, "unreadable JSON"),
    (b"[" * 100_000 + b"]" * 100_000, None, "unreadable JSON"),
    (b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b', "text": "x"}', None, "unreadable JSON"),
    (b'{"id": ' + b"[" * 500 + b"]" * 500 + b', "text": "x"}', None, "'id' must be"),
    (b'{"id": [1], "text": "x"}', None, "'id' must be"),
    (b'{"id": {"a": 1}, "text": "x"}', None, "'id' must be"),
    (b'{"id": 1.5, "text": "x"}', None, "'id' must be"),
    (b'{"id": false, "text": "x"}', None, "'id' must be"),
    ('{"id": 1234567890123456789012345, "text": "被告人王某。"}'.encode(), "1234567890123456789012345", None),
    (b'{"id": "s", "text": "\\ud800"}', "s", "surrogate"),
    ('{"id": "boom", "text": "炸"}'.encode(), "boom", "tagging failed"),  # the message holds a lone surrogate
    (b"null", None, "expected a JSON object"),
    (b"[]", None, "expected a JSON object"),
    (b'"str"', None, "expected a JSON object"),
    ('{"id": "last", "text": "被告人李某。"}'.encode(), "last", None),
]


def test_every_hostile_line_gets_one_valid_line_and_a_resume_gets_past_it(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(raw for raw, _, _ in HOSTILE) + b"\n")
    out = tmp_path / "out.jsonl"
    stats = tag(src, out)
    text = out.read_bytes().decode("utf-8")  # strict: valid UTF-8, surrogates escaped
    lines = sorted((json.loads(l) for l in text.splitlines()), key=lambda l: int(l["source"].rsplit(":", 1)[1]))
    assert [l["source"] for l in lines] == [f"{src}:{i}" for i in range(1, len(HOSTILE) + 1)]  # errors come first
    for line, (raw, doc_id, error) in zip(lines, HOSTILE):
        assert line["id"] == doc_id, raw[:60]
        assert (error is None) == ("error" not in line) and (error or "") in line.get("error", ""), (raw[:60], line)
    assert "\\ud800" in lines[14]["error"]  # written out, not dropped
    assert stats.docs == 3 and stats.errors == len(HOSTILE) - 3
    again = tag(src, out)
    assert again.skipped == len(HOSTILE) and out.read_bytes().decode("utf-8") == text


def test_txt_names_that_are_not_utf8_are_tagged_and_resumed(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"\xff\xfe.txt"), "wb") as f:
        f.write("被告人张某。".encode())
    out = tmp_path / "out.jsonl"
    tag(folder, out)
    (line,) = [json.loads(l) for l in out.read_bytes().decode("utf-8").splitlines()]
    assert line["id"] == "\\udcff\\udcfe" and "error" not in line
    assert tag(folder, out).skipped == 1


# --- FIFOs and OS errors ----------------------------------------------------------------------


def test_a_fifo_among_txt_inputs_is_skipped_not_read(tmp_path, no_hang):
    folder = tmp_path / "docs"
    (folder / "dir.txt").mkdir(parents=True)
    (folder / "a.txt").write_text("被告人张某。", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    os.mkfifo(tmp_path / "given.txt")
    out = tmp_path / "out.jsonl"
    tag([folder, tmp_path / "given.txt"], out)
    lines = {l["id"]: l for l in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(lines) == {"a", "dir", "pipe", "given"} and "error" not in lines["a"]
    assert lines["pipe"]["error"] == lines["given"]["error"] == "not a regular file (a FIFO): skipped, not read"
    assert lines["dir"]["error"].startswith("not a regular file (a folder)")


def _folder(tmp_path):
    return tmp_path / "outdir", lambda p: p.mkdir()


def _fifo(tmp_path):
    return tmp_path / "out.fifo", os.mkfifo


def _under_a_file(tmp_path):
    return tmp_path / "file" / "out.jsonl", lambda p: p.parent.write_text("x")


@pytest.mark.parametrize("case", [_folder, _fifo, _under_a_file])
def test_an_output_that_cannot_be_a_file_is_one_line(case, model, tmp_path, capsys, no_hang):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": ""}\n', encoding="utf-8")
    out, make = case(tmp_path)
    make(out)
    code, err = cli(capsys, model, src, "-o", out)
    assert code == 2 and str(out.parent.name) in one_error_line(err)


def test_a_read_only_output_is_one_line(model, tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": ""}\n', encoding="utf-8")
    real_open = Path.open

    def read_only(self, mode="r", *a, **kw):  # as on a read-only mount (root ignores chmod)
        if "a" in mode or "w" in mode:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_open(self, mode, *a, **kw)

    monkeypatch.setattr(Path, "open", read_only)
    code, err = cli(capsys, model, src, "-o", tmp_path / "out.jsonl")
    assert code == 2 and one_error_line(err) == f"error: {tmp_path / 'out.jsonl'}: Read-only file system"


class FullDisk:
    """A file that takes ``room`` writes, then fails as a full disk does."""

    def __init__(self, file, room: int):
        self._file, self._room = file, room

    def write(self, s):
        if self._room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= 1
        return self._file.write(s)

    def __getattr__(self, name):
        return getattr(self._file, name)


def test_a_full_disk_is_one_line_and_the_run_resumes(model, tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": ""}) + "\n" for i in range(5)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    real_init = ResumableWriter.__init__

    def init(self, path):
        real_init(self, path)
        self._file = FullDisk(self._file, room=2)

    with monkeypatch.context() as m:
        m.setattr(ResumableWriter, "__init__", init)
        code, err = cli(capsys, model, src, "-o", out)
    line = one_error_line(err)
    assert code == 2 and line.startswith(f"error: {out}: No space left on device") and "re-run" in line
    assert len(out.read_bytes().splitlines()) == 2
    assert cli(capsys, model, src, "-o", out)[0] == 0
    assert [json.loads(l)["id"] for l in out.read_bytes().splitlines()] == [str(i) for i in range(5)]
