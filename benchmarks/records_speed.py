"""Records speed: characters per second of ``prelabel_text`` and ``record_from_rules``.

Two inputs: the real judgments of ``--judgments`` (one call per judgment, the total time over all of
them) and one long generated judgment of ``--chars`` characters (:func:`judgment_like`: a header
with hundreds of defendants, their facts, and a verdict item for each), the input that made records
quadratic before issue 21. Each figure is the median of ``--repeats`` timed runs.

``--compare-with DIR`` also measures another version of the package (a folder holding an
``nlp_judgments/`` package, e.g. ``git archive <commit> nlp_judgments | tar -x -C DIR``), so
before/after figures come from the same machine in the same run. Each version runs in its own
subprocess, one after the other; the table names the CPU (``model name`` of ``/proc/cpuinfo``).

    python benchmarks/records_speed.py --json runs/bench/records_speed.json
    python benchmarks/records_speed.py --compare-with /tmp/old --json runs/bench/records_speed.json

``--command`` adds the end-to-end row the records issue sets its target on (300,000 characters per
second): ``nlp-judgments tag --records`` without a model over ``--judgments`` (reading, the rules,
records, writing JSON lines), in a subprocess, from the command's own characters-per-second figure.

Figures on a shared machine are noisy: compare rows of one run, don't quote them across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The package on sys.path: each version's worker runs with PYTHONPATH set to that version's folder.
from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.records import record_from_rules
from nlp_judgments.tagging.hardware import cpu_name

ROOT = Path(__file__).resolve().parents[1]
JUDGMENTS = ROOT.parent / "shared" / "data" / "judge_docs" / "judgments.jsonl"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
_GIVEN = "志强伟芳敏静丽军磊洋勇艳杰娟涛明超秀霞平刚桂英华建国文红玉兰飞鹏辉斌亮宇浩凯健俊帆"
_PLACES = (("浙江省", "杭州市", "临平区"), ("江苏省", "南京市", "鼓楼区"), ("广东省", "深圳市", "南山区"),
           ("四川省", "成都市", "武侯区"), ("河南省", "郑州市", "金水区"), ("湖南省", "长沙市", "岳麓区"))
_TERMS = ("六个月", "八个月", "一年", "一年三个月", "一年六个月", "二年", "三年", "三年六个月")
_FINES = ("一千", "二千", "三千", "五千", "八千", "一万", "二万", "五万")
_DIGITS = "〇一二三四五六七八九"


def _cn(n: int) -> str:
    """Chinese numeral below 100, as verdict items are numbered: 3 → 三, 12 → 十二, 40 → 四十."""
    tens, ones = divmod(n, 10)
    return (("" if tens < 2 else _DIGITS[tens]) + "十" if tens else "") + (_DIGITS[ones] if ones else "")


def judgment_like(n_chars: int, seed: int = 0) -> str:
    """A criminal judgment of at least ``n_chars`` characters, made up here (no real text).

    It has the parts the rules and the record builder read: court, case number, procuratorate, a
    party header per defendant (paragraphs separated by spaces, as in the real corpus), facts with
    dates, places, amounts, apps and illegal gains, the court's reasoning with charges and law
    articles, a verdict item per defendant on its own line (term, probation, fine) and a dated
    signature. Defendants are added until the text is long enough, so a longer text has more of
    them: the case where per-defendant work on the whole text turns quadratic.

    >>> t = judgment_like(3000)
    >>> len(t) >= 3000, t.count("判决如下"), t.endswith("书记员　王芳")
    (True, 1, True)
    """
    rng = random.Random(seed)
    names, seen = [], set()

    def block(k: int) -> tuple[str, str, str, str]:
        while True:
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
            if name not in seen:
                seen.add(name)
                names.append(name)
                break
        province, city, district = rng.choice(_PLACES)
        year, month, day = rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)
        gender = rng.choice("男女")
        header = (f"被告人{name}，{gender}，{year}年{month}月{day}日出生，汉族，初中文化，无业，户籍地{province}{city}。"
                  f"因涉嫌犯盗窃罪于2020年{month}月{day}日被刑事拘留，同年{month}月{min(day + 9, 28)}日被逮捕。")
        value = rng.randint(500, 90000)
        gain = rng.randint(100, 20000)
        facts = (f"2019年{month}月{day}日{rng.randint(0, 23)}时许，被告人{name}在{city}{district}某小区内，"
                 f"窃得被害人{rng.choice(_SURNAMES)}某的手机一部、现金人民币{value}元。被告人{name}通过"
                 f"{rng.choice(('微信', '支付宝', '闲鱼'))}将手机出售，获利人民币{gain:,}元。案发后，被告人{name}"
                 f"退缴违法所得人民币{gain}元。")
        if k and rng.random() < 0.3:  # a joint act with the previous defendant: a warned, unattributed gain
            facts += f"被告人{names[-2]}、{name}共同退缴违法所得人民币{rng.randint(100, 9000)}元。"
        term = rng.choice(_TERMS)
        probation = f"，缓刑{rng.choice(('一年', '二年'))}" if rng.random() < 0.3 else ""
        item = (f"{_cn(k % 99 + 1)}、被告人{name}犯盗窃罪，判处有期徒刑{term}{probation}，"
                f"并处罚金人民币{rng.choice(_FINES)}元。\n（刑期从判决执行之日起计算。判决执行以前先行羁押的，"
                f"羁押一日折抵刑期一日，即自2020年{month}月{day}日起至2021年{month}月{day}日止。）\n")
        return header, facts, name, item

    province, city, district = _PLACES[0]
    court = f"{province}{city}{district}人民法院"
    procuratorate = f"{province}{city}{district}人民检察院"
    case_serial, indictment_serial = rng.randint(100, 999), rng.randint(100, 999)
    headers, facts, items = [], [], []

    def assemble() -> str:
        accused = "、".join(names)
        return (
            f"{court} 刑事判决书 （2020）浙0113刑初{case_serial}号 公诉机关{procuratorate}。 "
            + " ".join(headers)
            + f" {procuratorate}以杭临检刑诉〔2020〕{indictment_serial}号起诉书指控被告人{accused}犯盗窃罪，"
            "于2020年12月8日向本院提起公诉。本院依法组成合议庭，公开开庭审理了本案。 经审理查明： "
            + " ".join(facts)
            + f" 本院认为，被告人{accused}以非法占有为目的，秘密窃取他人财物，数额较大，其行为均已构成盗窃罪。"
            "依照《中华人民共和国刑法》第二百六十四条、第五十二条、第五十三条、第六十七条第三款之规定，判决如下：\n"
            + "".join(items)
            + f"如不服本判决，可在接到判决书的第二日起十日内，通过本院或者直接向{province}{city}中级人民法院提出上诉。\n"
            "审判长　李明\n人民陪审员　张华\n二〇二一年三月五日\n书记员　王芳"
        )

    text = ""
    while len(text) < n_chars:
        # Add defendants by the length they bring (their three paragraphs, their name twice in lists),
        # then check the real length: assembling once per round keeps this linear.
        missing = n_chars - len(text)
        while missing > 0 or not items:
            h, f, name, i = block(len(items))
            headers.append(h)
            facts.append(f)
            items.append(i)
            missing -= len(h) + len(f) + len(i) + 2 * len(name) + 4
        text = assemble()
    return text


def _timed(fn, texts: list[str], repeats: int) -> float:
    """Median seconds of ``repeats`` runs of ``fn`` over all ``texts``."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for t in texts:
            fn(t)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(inputs: dict[str, list[str]], repeats: int) -> list[dict]:
    """Rows for the ``nlp_judgments`` importable here: one per (input, function)."""
    rows = []
    for name, texts in inputs.items():
        prelabel_text(texts[0][:2000])  # untimed warm-up: compiled regexes, lexicons, caches
        record_from_rules(texts[0][:2000])
        chars = sum(len(t) for t in texts)
        for fn_name, fn in (("prelabel_text", prelabel_text), ("record_from_rules", record_from_rules)):
            seconds = _timed(fn, texts, repeats)
            rows.append({"input": name, "docs": len(texts), "chars": chars, "function": fn_name,
                         "seconds": round(seconds, 4), "chars_per_s": round(chars / seconds)})
    return rows


def _inputs(args: argparse.Namespace) -> dict[str, list[str]]:
    inputs = {}
    if args.judgments.is_file():
        with args.judgments.open(encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f if line.strip()]
        inputs[f"{len(texts)} judgments"] = texts
    else:
        print(f"no judgments at {args.judgments}: measuring the generated text only", file=sys.stderr)
    inputs[f"generated {args.chars:,}"] = [judgment_like(args.chars, args.seed)]
    return inputs


def _run_version(package_root: Path, args: argparse.Namespace) -> list[dict]:
    """Measure the package under ``package_root`` in a subprocess of this script (``--worker``)."""
    cmd = [sys.executable, __file__, "--worker", "--judgments", str(args.judgments), "--chars", str(args.chars),
           "--seed", str(args.seed), "--repeats", str(args.repeats)]
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _table(rows: list[dict]) -> str:
    lines = [f"{'version':<10} {'input':<20} {'function':<18} {'chars':>9} {'seconds':>9} {'chars/s':>11}"]
    for r in rows:
        lines.append(f"{r['version']:<10} {r['input']:<20} {r['function']:<18} {r['chars']:>9,} "
                     f"{r['seconds']:>9.3f} {r['chars_per_s']:>11,}")
    return "\n".join(lines)


def command_rows(judgments: Path, repeats: int) -> list[dict]:
    """``nlp-judgments tag --records`` (rules alone) over ``judgments``: the median of ``repeats`` runs of
    the command's own figures (its clock starts after start-up, so Python's import time is left out)."""


    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            out = Path(tmp) / f"records-{k}.jsonl"
            proc = subprocess.run([sys.executable, "-m", "nlp_judgments.cli", "tag", "--records", "-q", str(judgments),
                                   "-o", str(out)], capture_output=True, text=True, check=True)
            runs.append(json.loads(proc.stderr.strip().splitlines()[-1]))
    best = statistics.median(r["chars_per_second"] for r in runs)
    return [{"version": "this", "input": judgments.name, "function": "tag --records",
             "chars": runs[0]["chars"], "seconds": statistics.median(r["seconds"] for r in runs),
             "chars_per_s": round(best)}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgments", type=Path, default=JUDGMENTS, help="JSONL with a 'text' per line (read only)")
    parser.add_argument("--chars", type=int, default=200_000, help="length of the generated judgment, in characters")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated judgment")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure; the median is reported")
    parser.add_argument("--compare-with", type=Path, help="a folder holding another version's nlp_judgments/")
    parser.add_argument("--json", type=Path, help="write the rows and the machine here")
    parser.add_argument("--command", action="store_true", help="also time `nlp-judgments tag --records` without a model")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one version, rows as JSON
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(_inputs(args), args.repeats)))
        return 0
    versions = {"this": ROOT}
    if args.compare_with is not None:
        versions = {"other": args.compare_with.resolve(), **versions}
    rows = []
    for version, root in versions.items():
        rows += [{"version": version, **r} for r in _run_version(root, args)]
    if args.command:
        rows += command_rows(args.judgments, args.repeats)
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform()}
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}")
    print(_table(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"machine": machine, "versions": {k: str(v) for k, v in versions.items()}, "repeats": args.repeats,
                  "rows": rows}
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
