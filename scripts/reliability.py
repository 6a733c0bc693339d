"""Reliability suite: corpus tagging killed and resumed, hostile inputs, the server under load.

Runs on a tiny model trained here in seconds (what is tested is the machinery, not accuracy), so it
fits in CI:

1. **Kills**: tag a corpus once without interruption (the reference); then tag it again into a new
   file, killing the process (SIGKILL) at random moments ``--kills`` times and re-running the same
   command after each kill, then once to the end. Every id must appear exactly once, with the same
   entities and record as the reference (scores to 1e-3: a resumed run batches windows differently).
2. **Hostile inputs**: ``--hostile`` generated input lines (empty, whitespace, huge, invalid UTF-8,
   control characters, NULs, bidi controls, 4-byte characters, CRLF, traditional characters,
   full/half width, HTML, malformed JSONL, lines of only ``null``/``[]``/``"str"``, nesting 100000 deep,
   ids that are lists, objects, floats, booleans, 25- or 5000-digit integers or 100000-character strings,
   lone surrogates in ids and texts, BOMs...). The run must exit 0 and write one valid UTF-8 JSON line
   per input line (none lost or duplicated), a reason for each rejected one; a re-run must add nothing.
3. **Output safety**: an existing file that is not ``tag`` output given as ``-o`` (notes, a CSV, an
   input JSONL, output with a broken line inside) must be refused and stay byte-identical; ``-o``
   equal to an input (the same path, a link to it, a ``.txt`` in an input folder) must be refused.
4. **Server**: ``nlp-judgments serve`` in a subprocess, ``--clients`` concurrent clients sending
   ``--requests`` requests each; counts non-200 answers and reports latency percentiles. Then
   **poison**: per hostile kind (a lone surrogate, escaped or as raw bytes; a NaN number), one
   poisoned request among ``--clients`` concurrent ones must get 422 and every other 200; and
   **overload**: 8 concurrent requests of 64 texts overfill the default queue (256 texts): the
   extra ones must get 503 with Retry-After, the rest 200, and the next request 200.

    python scripts/reliability.py --out runs/reliability.json       # about two minutes on 2 cores

Exits 1 when a check fails. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from nlp_judgments.apps.demo import demo_corpus
from nlp_judgments.cli import main as cli_main
from nlp_judgments.spans import read_spans_jsonl
from nlp_judgments.tagging.encoders.tiny import build_tiny
from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

CLI = [sys.executable, "-m", "nlp_judgments.cli"]
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def tiny_model(workdir: Path) -> Path:
    encoder = build_tiny(cache_dir=workdir / "encoders", hidden=64, layers=2)
    config = load_config(None, {
        "output_dir": str(workdir / "run"), "model": {"name_or_path": str(encoder)},
        "data": {"train_file": str(demo_corpus()), "format": "spans", "max_length": 128, "stride": 32},
        "train": {"epochs": 3, "batch_size": 16, "lr": 5e-3, "head_lr": 5e-3, "progress": False, "num_threads": 1},
    })
    train(config)
    return workdir / "run" / "model-last"


def corpus_texts() -> list[str]:
    return [d.text for d in read_spans_jsonl(demo_corpus())]


# --- 1. kills ---------------------------------------------------------------------------------


def comparable(line: dict) -> dict:
    """A line without its scores: what must be identical after a resume."""
    out = dict(line)
    out["entities"] = [{k: v for k, v in e.items() if k != "score"} for e in line.get("entities", [])]
    return out


def check_kills(model: Path, workdir: Path, n_docs: int, kills: int, rng: random.Random) -> dict:
    texts = corpus_texts()
    src = workdir / "kill_in.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for i in range(n_docs):
            t = texts[i % len(texts)]
            a = rng.randrange(len(t) // 2)
            f.write(json.dumps({"id": f"doc-{i:05d}", "text": t[a : a + rng.randint(50, len(t))]}, ensure_ascii=False) + "\n")
    common = ["tag", "--model", str(model), str(src), "--records", "--entities", "--chunk-chars", "4000", "-q", "--threads", "1"]

    ref = workdir / "kill_ref.jsonl"
    subprocess.run(CLI + common + ["-o", str(ref)], env=ENV, check=True, capture_output=True)
    out = workdir / "kill_out.jsonl"
    landed = []
    for _ in range(kills):
        before = out.read_bytes().count(b"\n") if out.exists() else 0
        proc = subprocess.Popen(CLI + common + ["-o", str(out)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill while tagging: once this run has written something, at a random moment after.
        while proc.poll() is None and (out.read_bytes().count(b"\n") if out.exists() else 0) <= before:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(out.read_bytes().count(b"\n") if out.exists() else 0)
    subprocess.run(CLI + common + ["-o", str(out)], env=ENV, check=True, capture_output=True)

    ref_lines = {l["id"]: l for l in map(json.loads, ref.read_text(encoding="utf-8").splitlines())}
    got = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    ids = Counter(l["id"] for l in got)
    mismatched = [l["id"] for l in got if comparable(l) != comparable(ref_lines.get(l["id"], {}))]
    score_gap = max((abs(a["score"] - b["score"]) for l in got if l["id"] in ref_lines
                     for a, b in zip(l.get("entities", []), ref_lines[l["id"]].get("entities", []))), default=0.0)
    return {"docs": n_docs, "kills": kills, "lines_when_killed": landed,
            "lost": len(set(ref_lines) - set(ids)), "duplicated": sum(c - 1 for c in ids.values() if c > 1),
            "different_from_uninterrupted": len(mismatched), "max_score_gap": round(score_gap, 6),
            "identical_bytes": out.read_bytes() == ref.read_bytes()}


# --- 2. hostile inputs -----------------------------------------------------------------------

def hostile_lines(n: int, rng: random.Random, max_chars: int) -> list[tuple[str, bytes, bool]]:
    """``(kind, raw line, should be tagged)`` for ``n`` generated inputs."""
    base = corpus_texts()

    def text() -> str:
        t = rng.choice(base)
        a = rng.randrange(len(t))
        return t[a : a + rng.randint(1, 400)]

    def quoted(value: str) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode()

    def obj(doc_id, value, **extra) -> bytes:
        return json.dumps({"id": doc_id, "text": value, **extra}, ensure_ascii=rng.random() < 0.5).encode() + b"\n"

    kinds = {
        "plain": lambda i: (obj(f"h{i}", text()), True),
        "empty": lambda i: (obj(f"h{i}", ""), False),
        "whitespace": lambda i: (obj(f"h{i}", rng.choice([" ", "\n\t", "\u3000\u3000", " \r\n "])), False),
        "huge": lambda i: (obj(f"h{i}", "被告人张某。" * (max_chars // 6 + rng.randint(1, 500))), False),
        "control": lambda i: (obj(f"h{i}", "".join(rng.choice([c, chr(rng.randrange(0, 32)), "\x7f", "\u200b", "\ufeff"])
                                                   for c in text())), True),
        "traditional": lambda i: (obj(f"h{i}", "被告人張某犯詐騙罪，判處有期徒刑一年，並處罰金人民幣五千元。" + text()), True),
        "width": lambda i: (obj(f"h{i}", "ＡＢＣ１２３，被告人王某於２０２０年５月１日在淘宝购买ｉＰｈｏｎｅ。" + text()), True),
        "html": lambda i: (obj(f"h{i}", f"<p onclick='x()'>{text()}</p><script>alert(1)</script>&amp;&#x4e00;"), True),
        "emoji": lambda i: (obj(f"h{i}", "😀👨‍👩‍👧" + text() + "\U0010ffff"), True),
        "invalid_utf8": lambda i: (b'{"id": "h%d", "text": "' % i + bytes(rng.randrange(128, 256) for _ in range(8)) + b'"}\n', False),
        "truncated_json": lambda i: (obj(f"h{i}", text())[: rng.randint(1, 20)] + b"\n", False),
        "not_json": lambda i: (rng.choice([b"hello\n", b"[1,2\n", b"{'id': 1}\n", b"NaN\n", b"}{\n"]), False),
        "not_object": lambda i: (rng.choice([b"[]\n", b"42\n", b'"text"\n', b"null\n", b"true\n"]), False),
        "missing_id": lambda i: (json.dumps({"text": text()}, ensure_ascii=False).encode() + b"\n", False),
        "bad_id": lambda i: (obj(rng.choice([None, "", True, 1.5, [1], {"a": 1}]), text()), False),
        "missing_text": lambda i: (json.dumps({"id": f"h{i}"}).encode() + b"\n", False),
        "bad_text": lambda i: (obj(f"h{i}", rng.choice([None, 5, ["a"], {"t": "x"}, True])), False),
        "surrogate": lambda i: (b'{"id": "h%d", "text": "\\ud800abc"}\n' % i, False),
        "duplicate_id": lambda i: (obj("dup", text()), None),  # the first one is tagged, the rest rejected
        "long_id": lambda i: (obj(f"h{i}-" + "x" * 5000, text()), True),
        "nul_in_json": lambda i: (obj(f"h{i}", "a\x00b" + text()), True),
        "extra_fields": lambda i: (obj(f"h{i}", text(), meta={"court": "某法院"}, spans=[1, 2]), True),
        "huge_id": lambda i: (obj(f"h{i}-" + "编" * 100_000, text()), True),
        "int_id_25_digits": lambda i: (b'{"id": %d, "text": %s}\n' % (10**24 + i, quoted(text())), True),
        "int_id_5000_digits": lambda i: (b'{"id": 1' + b"0" * 4999 + b', "text": "x"}\n', False),
        "weird_number_id": lambda i: (b'{"id": %s, "text": "x"}\n' % rng.choice([b"1e400", b"NaN", b"-Infinity", b"1.0"]), False),
        "nul_bidi_id": lambda i: (obj(f"h{i}\x00\u202e\u2066", text()), True),
        "bidi": lambda i: (obj(f"h{i}", "\u202e被告人\u2067张某\u2069\u200f" + text() + "\u202c"), True),
        "astral": lambda i: (obj(f"h{i}", "𠀀𪚥" + text() + "🧑🏽‍⚖️"), True),
        "escaped_pair": lambda i: (b'{"id": "h%d", "text": "\\ud83d\\ude00", "x": 1}\n' % i, True),
        "crlf": lambda i: (obj(f"h{i}", text())[:-1] + b"\r\n", True),
        "cr_inside": lambda i: (b'{"id": "h%d",\r "text":\r%s}\r\n' % (i, quoted(text())), True),
        "bom_line": lambda i: (b"\xef\xbb\xbf" + obj(f"h{i}", text()), False),  # a BOM only counts on line 1
        "deep_line": lambda i: (rng.choice([b"[", b'{"a":']) * 100_000 + b"\n", False),
        "deep_id": lambda i: (b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b', "text": "x"}\n', False),
        "surrogate_id": lambda i: (b'{"id": "h%d\\udc80", "text": "x"}\n' % i, False),
        "surrogate_id_and_text": lambda i: (b'{"id": "\\ud800h%d", "text": "\\udfff"}\n' % i, False),
        "only_null": lambda i: (b"null\n", False),
    }
    names = list(kinds)
    out = []
    for i in range(n):
        kind = names[i % len(names)]
        raw, ok = kinds[kind](i)
        out.append((kind, raw, ok))
    return out


def check_hostile(model: Path, workdir: Path, n: int, rng: random.Random) -> dict:
    max_chars = 20_000
    lines = hostile_lines(n, rng, max_chars)
    src = workdir / "hostile.jsonl"
    src.write_bytes(b"".join(raw for _, raw, _ in lines))
    out = workdir / "hostile_out.jsonl"
    args = ["tag", "--model", str(model), str(src), "-o", str(out), "--records", "-q", "--max-chars", str(max_chars),
            "--threads", "1"]
    proc = subprocess.run(CLI + args, env=ENV, capture_output=True, text=True)
    first = out.read_bytes() if out.exists() else b""
    again = io.StringIO()
    with contextlib.redirect_stderr(again):  # a resume, in this process (all is done: no model loaded)
        again_code = cli_main(args)
    got, invalid, sources = {}, 0, Counter()
    for raw in first.splitlines():
        try:
            line = json.loads(raw.decode("utf-8"))  # strict: every line valid UTF-8 and JSON
            lineno = int(line["source"].rsplit(":", 1)[1])
        except (ValueError, KeyError, TypeError, AttributeError):
            invalid += 1
            continue
        sources[lineno] += 1
        got[lineno] = line
    wrong, first_dup = [], True
    for lineno, (kind, raw, ok) in enumerate(lines, 1):
        line = got.get(lineno)
        if kind == "duplicate_id":
            ok, first_dup = first_dup, False
        if line is None:
            wrong.append((lineno, kind, "no output line"))
        elif ok and "error" in line:
            wrong.append((lineno, kind, f"rejected: {line['error']}"[:200]))
        elif not ok and not line.get("error"):
            wrong.append((lineno, kind, "accepted"))
    reasons = Counter(re.sub(r"\d+", "N", l["error"].split(" (")[0].split(":")[0])[:50] for l in got.values() if "error" in l)
    return {"inputs": n, "kinds": len({k for k, _, _ in lines}), "exit_code": proc.returncode,
            "crash": proc.returncode != 0 or again_code != 0, "output_lines": len(got),
            "lost": sum(1 for i in range(1, n + 1) if i not in got), "duplicated": sum(c - 1 for c in sources.values()),
            "invalid_lines": invalid, "resume_exit_code": again_code,
            "resume_changed_output": (out.read_bytes() if out.exists() else b"") != first,
            "tagged": sum("error" not in l for l in got.values()), "rejected_with_reason": sum("error" in l for l in got.values()),
            "unexpected": wrong[:20], "unexpected_count": len(wrong), "reasons": dict(reasons.most_common(12)),
            "stderr_tail": (proc.stderr + again.getvalue())[-500:] if proc.returncode or again_code else ""}


# --- 3. output safety -------------------------------------------------------------------------

def check_output_safety(model: Path, workdir: Path) -> dict:
    """``-o`` at files not ``tag``'s and at inputs: each refused (exit 2, one line), every file unchanged."""
    expect = {"foreign": "not the output of `tag`", "input": "-o is also an input"}  # in the error line
    base = workdir / "safety"
    (base / "docs").mkdir(parents=True)
    src = base / "in.jsonl"
    src.write_text('{"id": "a", "text": "被告人张某。"}\nnot json\n{"id": "b", "text": "被告人王某。"}\n', encoding="utf-8")
    clean = base / "clean.jsonl"
    clean.write_text('{"id": "c", "text": "被告人李某。"}\n', encoding="utf-8")
    (base / "docs" / "a.txt").write_text("被告人赵某。", encoding="utf-8")
    (base / "link.jsonl").symlink_to(src.resolve())
    os.link(clean, base / "hard.jsonl")
    ours = b'{"id": "x", "source": "in.jsonl:1", "chars": 3, "entities": []}\n'
    foreign = {"notes.txt": "开庭笔记：\n第二行\n".encode(), "table.csv": b"id,text\n1,abc\n",
               "copy_of_input.jsonl": clean.read_bytes(), "no_newline.txt": b"remember",
               "broken_output.jsonl": ours + b"{garbage\n" + ours.replace(b'"x"', b'"y"'),
               "binary.bin": bytes(range(256))}
    for name, data in foreign.items():
        (base / name).write_bytes(data)
    cases = [([clean], base / name, "foreign") for name in foreign]
    cases += [([src], src, "input"), ([clean], clean, "input"), ([base / "hard.jsonl"], clean, "input"),
              ([src], base / "link.jsonl", "input"), ([base / "docs"], base / "docs" / "a.txt", "input"),
              ([base / "docs"], base / "docs" / "new.txt", "input")]
    results = []
    for inputs, out, kind in cases:
        before, err = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}, io.StringIO()
        with contextlib.redirect_stderr(err):  # in this process: a refusal never loads the model
            code = cli_main(["tag", "--model", str(model), *map(str, inputs), "-o", str(out), "-q"])
        errors = [l for l in err.getvalue().splitlines() if l.startswith("error:")]
        kept = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == before
        ok = code == 2 and kept and len(errors) == 1 and expect[kind] in errors[0] and "Traceback" not in err.getvalue()
        results.append({"output": out.name, "kind": kind, "exit_code": code, "kept": kept, "ok": ok,
                        "error": errors[0][:300] if errors else err.getvalue()[-300:]})
    kinds = [r["kind"] for r in results]
    return {"foreign_files": kinds.count("foreign"), "foreign_kept": sum(r["ok"] for r in results if r["kind"] == "foreign"),
            "inputs_as_output": kinds.count("input"), "inputs_refused": sum(r["ok"] for r in results if r["kind"] == "input"),
            "unexpected_count": sum(not r["ok"] for r in results), "cases": results}


# --- 4. server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(model: Path):
    """``nlp-judgments serve`` (default settings) in a subprocess on a free port: yields its base URL."""
    import httpx

    port = free_port()
    log = tempfile.TemporaryFile("w+")  # not a pipe: a pipe nobody reads would block the server once full
    server = subprocess.Popen(CLI + ["serve", "--model", str(model), "--port", str(port), "--threads", "1"],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"the server did not start: {log.read()[-1000:]}")
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def all_at_once(n: int, send) -> list:
    """``send(i)`` for ``i < n`` in ``n`` threads released together; the answers in order of ``i``."""
    start = threading.Barrier(n)
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: (start.wait(), send(i))[1], range(n)))


def post(http, path: str, body: bytes):
    """``(status, Retry-After)`` of one POST, or the transport error's name as the status."""
    import httpx

    try:
        r = http.post(path, content=body, headers={"content-type": "application/json"})
        return r.status_code, r.headers.get("retry-after")
    except httpx.HTTPError as e:
        return type(e).__name__, None


# One bad request in a crowd: before the server checked texts, a lone surrogate made the tokenizer
# raise inside the shared model call, failing every request in it. NaN (our addition) is JSON to
# Python's parser but not to the JSON writer, so the 422 echoing it turned into a 500.
POISONS = {
    "lone_surrogate": '{"texts": ["被告人张某犯盗窃罪。", "\\ud800abc"]}'.encode(),
    "surrogate_as_bytes": '{"texts": ["被告人张某犯盗窃罪。", "'.encode() + b'\xed\xa0\x80abc"]}',
    "nan_number": '{"texts": ["被告人张某犯盗窃罪。", NaN]}'.encode(),
}


def check_poison(http, clients: int, rng: random.Random) -> dict:
    """Per poison: ``clients`` concurrent requests, one poisoned; it must get 422, every other 200."""
    texts = corpus_texts()
    out = {}
    for kind, poison in POISONS.items():
        bad = rng.randrange(clients)
        bodies = [poison if i == bad else json.dumps({"texts": [rng.choice(texts)[:600]]}, ensure_ascii=False).encode()
                  for i in range(clients)]
        paths = [rng.choice(["/v1/tag", "/v1/records"]) for _ in range(clients)]
        statuses = [status for status, _ in all_at_once(clients, lambda i: post(http, paths[i], bodies[i]))]
        others = Counter(str(s) for i, s in enumerate(statuses) if i != bad)
        out[kind] = {"poisoned_status": statuses[bad], "others_ok": others.pop("200", 0), "others_failed": dict(others)}
    return out


def check_overload(http, burst: int, rng: random.Random) -> dict:
    """``burst`` concurrent requests of 64 texts (the most a request may hold) against a queue of
    256 texts: while the first is in the model call, four fill the queue and the rest must get 503
    with Retry-After; all admitted ones 200; and the server answers normally afterwards."""
    texts = corpus_texts()
    # 64 texts of 800 characters: a model call long enough for the others to queue behind it.
    bodies = [json.dumps({"texts": [(t * (1 + 800 // len(t)))[:800] for t in rng.choices(texts, k=64)]},
                         ensure_ascii=False).encode() for _ in range(burst)]
    answers = all_at_once(burst, lambda i: post(http, "/v1/tag", bodies[i]))
    statuses = Counter(str(s) for s, _ in answers)
    retry_after = sorted({ra for s, ra in answers if s == 503 and ra is not None})
    after, _ = post(http, "/v1/tag", json.dumps({"text": texts[0][:600]}, ensure_ascii=False).encode())
    return {"burst": burst, "statuses": dict(statuses), "refused": statuses.get("503", 0),
            "refused_without_retry_after": sum(1 for s, ra in answers if s == 503 and not (ra or "").isdigit()),
            "retry_after_s": retry_after, "status_after": after}


def check_server(model: Path, clients: int, requests: int, rng: random.Random) -> dict:
    import httpx

    with served(model) as base:
        texts = corpus_texts()
        latencies, failures, lock = [], Counter(), threading.Lock()

        def client(seed: int) -> None:
            r = random.Random(seed)
            with httpx.Client(base_url=base, timeout=60) as http:
                for _ in range(requests):
                    t = r.choice(texts)
                    a = r.randrange(len(t))
                    body = {"texts": [t[a : a + r.randint(20, 600)] for _ in range(r.randint(1, 3))]}
                    path = r.choice(["/v1/tag", "/v1/records"])
                    t0 = time.perf_counter()
                    try:
                        status = http.post(path, json=body).status_code
                    except httpx.HTTPError as e:
                        status = type(e).__name__
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                        if status != 200:
                            failures[str(status)] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(rng.random(),)) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        health = httpx.get(base + "/healthz").json()
        with httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=clients)) as http:
            poison = check_poison(http, clients, rng)
            overload = check_overload(http, 8, rng)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"clients": clients, "requests": len(latencies), "errors": sum(failures.values()), "error_kinds": dict(failures),
            "seconds": round(wall, 2), "requests_per_second": round(len(latencies) / wall, 1),
            "latency_ms": {"p50": round(q[49] * 1000, 1), "p90": round(q[89] * 1000, 1), "p99": round(q[98] * 1000, 1),
                           "max": round(max(latencies) * 1000, 1)},
            "batching": health.get("batching"), "poison": poison, "overload": overload}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--docs", type=int, default=400, help="documents in the kill-and-resume corpus")
    ap.add_argument("--hostile", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20, help="requests per client")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/reliability.json")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        model = tiny_model(workdir)
        result = {"kills": check_kills(model, workdir, args.docs, args.kills, rng),
                  "hostile": check_hostile(model, workdir, args.hostile, rng),
                  "output_safety": check_output_safety(model, workdir),
                  "server": check_server(model, args.clients, args.requests, rng)}
        result["seconds"] = round(time.perf_counter() - t0, 1)

    k, h, o, s = result["kills"], result["hostile"], result["output_safety"], result["server"]
    failures = []
    if k["lost"] or k["duplicated"] or k["different_from_uninterrupted"] or k["max_score_gap"] > 1e-3:
        failures.append("kills")
    if (h["crash"] or h["unexpected_count"] or h["lost"] or h["duplicated"] or h["invalid_lines"]
            or h["resume_changed_output"]):
        failures.append("hostile")
    if o["unexpected_count"]:
        failures.append("output")
    if s["errors"]:
        failures.append("server")
    if any(p["poisoned_status"] != 422 or p["others_failed"] for p in s["poison"].values()):
        failures.append("server-poison")
    ov = s["overload"]
    if not ov["refused"] or ov["refused_without_retry_after"] or set(ov["statuses"]) - {"200", "503"} or ov["status_after"] != 200:
        failures.append("server-overload")
    result["failed"] = failures
    print(f"{'check':<10} {'figures'}")
    print(f"{'kills':<10} {k['kills']} kills over {k['docs']} docs (lines written at each kill: {k['lines_when_killed']}); "
          f"lost {k['lost']}, duplicated {k['duplicated']}, different from an uninterrupted run {k['different_from_uninterrupted']} "
          f"(max score gap {k['max_score_gap']}, byte-identical: {k['identical_bytes']})")
    print(f"{'hostile':<10} {h['inputs']} inputs of {h['kinds']} kinds: exit {h['exit_code']}, {h['tagged']} tagged, "
          f"{h['rejected_with_reason']} rejected with a reason; lost {h['lost']}, duplicated {h['duplicated']}, "
          f"invalid lines {h['invalid_lines']}, unexpected {h['unexpected_count']}; resume: exit {h['resume_exit_code']}, "
          f"output changed: {h['resume_changed_output']}; reasons: {h['reasons']}")
    print(f"{'output':<10} -o at a file that is not tag output: {o['foreign_kept']}/{o['foreign_files']} refused and "
          f"byte-identical; -o equal to an input: {o['inputs_refused']}/{o['inputs_as_output']} refused; "
          f"unexpected {o['unexpected_count']}")
    print(f"{'server':<10} {s['clients']} clients × {s['requests'] // max(s['clients'], 1)} requests: {s['errors']} errors, "
          f"{s['requests_per_second']} req/s, latency ms p50 {s['latency_ms']['p50']} p90 {s['latency_ms']['p90']} "
          f"p99 {s['latency_ms']['p99']} max {s['latency_ms']['max']}")
    print(f"{'poison':<10} 1 poisoned request among {s['clients']} concurrent, per kind: " + "; ".join(
        f"{kind} {p['poisoned_status']}, others {p['others_ok']} × 200 {p['others_failed'] or ''}".rstrip()
        for kind, p in s["poison"].items()))
    print(f"{'overload':<10} {ov['burst']} concurrent requests of 64 texts: {ov['statuses']}, Retry-After {ov['retry_after_s']} s "
          f"({ov['refused_without_retry_after']} refusals without it); next request {ov['status_after']}")
    print(f"{'result':<10} {'FAILED: ' + ', '.join(failures) if failures else 'all passed'} in {result['seconds']} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
