"""The command line: user errors are one line with file and line, never a traceback."""

from __future__ import annotations

import json

import pytest

from nlp_judgments.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"id": "a", "text": "张某", "entities": [{"start": 0, "end": 9, "label": "PERSON"}]}\n', "outside the text"),
        ('{"id": "a", "text": "张某", "entities": [{"start": 1, "end": 1, "label": "PERSON"}]}\n', "empty span"),
        ('{"id": "a", "text": "张某"}\n{"id": "b", "text": \n', "malformed JSON"),
        ('{"id": "a", "entities": []}\n', "text"),
    ],
)
def test_malformed_training_data_is_one_clear_line(tmp_path, capsys, content, reason, tiny_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "train", f"--data.train_file={bad}", "--data.format=spans",
                       f"--model.name_or_path={tiny_dir}", f"--output_dir={tmp_path / 'out'}")
    assert code == 2
    assert "bad.jsonl:" in err and reason in err and "Traceback" not in err
    line = content.count("\n") if reason == "malformed JSON" else 1
    assert f"bad.jsonl:{line}:" in err


def test_unknown_config_key_and_missing_model(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--train.epochz=3")
    assert code == 2 and "train.epochz" in err
    code, _, err = run(capsys, "evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "x.jsonl"))
    assert code == 2 and "not an nlp_judgments model folder" in err


def test_train_evaluate_convert_tag_end_to_end(tmp_path, capsys, spans_file, tiny_dir):
    out = tmp_path / "run"
    code, stdout, _ = run(capsys, "train", "--config", "configs/debug.yaml", f"--data.train_file={spans_file}",
                          "--data.format=spans", "--data.dev_last_n=1", f"--model.name_or_path={tiny_dir}",
                          f"--output_dir={out}", "--train.max_steps=3", "--train.progress=false")
    assert code == 0 and "best dev F1" in stdout
    code, stdout, _ = run(capsys, "evaluate", "--model", str(out / "model-best"), "--data", str(spans_file),
                          "--output", str(tmp_path / "m.json"))
    assert code == 0 and "micro" in stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"micro", "per_type", "errors"} <= set(metrics)
    assert set(metrics["micro"]) >= {"precision", "recall", "f1"}

    code, _, _ = run(capsys, "convert", str(spans_file), str(tmp_path / "ls.json"), "--from", "spans", "--to", "labelstudio")
    assert code == 0 and json.loads((tmp_path / "ls.json").read_text())

    text_file = tmp_path / "j.txt"
    text_file.write_text("被告人张某犯盗窃罪。", encoding="utf-8")
    code, stdout, _ = run(capsys, "tag", "--model", str(out / "model-best"), str(text_file))
    assert code == 0 and json.loads(stdout)["source"] == str(text_file)
    # Every backend the library offers is offered by the command (torch-bf16 once was not).
    code, stdout, _ = run(capsys, "tag", "--model", str(out / "model-best"), str(text_file), "--backend", "torch-bf16")
    assert code == 0 and "entities" in json.loads(stdout)


def test_the_command_offers_exactly_the_librarys_backends():
    from nlp_judgments.cli import build_parser
    from nlp_judgments.tagging import tagger
    from nlp_judgments.tagging.options import BACKENDS

    tag = build_parser()._subparsers._group_actions[0].choices["tag"]
    offered = next(a.choices for a in tag._actions if "--backend" in a.option_strings)
    assert tuple(offered) == BACKENDS == tagger.BACKENDS


def test_demo_quick(tmp_path, capsys):
    code, stdout, _ = run(capsys, "demo", "--quick", "--output", str(tmp_path / "demo"))
    assert code == 0
    assert "demo-001" in stdout and "micro" in stdout
    assert "case record" in stdout and "（2022）浙0113刑初215号" in stdout  # rules fill what the model misses


def test_tag_without_a_model_uses_the_rules_alone(tmp_path, capsys):
    import subprocess
    import sys

    from nlp_judgments.legal.records import record_from_rules

    text = ("上海市长宁区人民法院 刑事判决书 （2021）沪0105刑初123号 公诉机关上海市长宁区人民检察院。 "
            "被告人李某，男，1990年1月2日出生。 本院认为，被告人李某犯盗窃罪。判决如下：被告人李某犯盗窃罪，"
            "判处有期徒刑六个月，并处罚金人民币二千元。 审判员王某 二〇二一年三月四日")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    # In a fresh interpreter: the rules alone load neither torch nor transformers.
    probe = ("import sys; from nlp_judgments.cli import main; "
             f"code = main(['tag', '--records', '--entities', '-q', {str(src)!r}, '-o', {str(tmp_path / 'out.jsonl')!r}]); "
             "print(code, 'torch' in sys.modules, 'transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert line["record"] == record_from_rules(text)
    assert line["entities"] and {e["source"] for e in line["entities"]} == {"rules"}
    code, _, err = run(capsys, "tag", "--rules", str(src), "-o", str(tmp_path / "o2.jsonl"))
    assert code == 2 and "--rules combines a --model" in err
