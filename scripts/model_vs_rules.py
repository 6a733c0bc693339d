"""Per label and per source: a model trained on several sources against the rule pre-labeller alone.

Reads the dev blocks of ``data.sources`` exactly as training split them, scores each block only on the
labels its source annotates (as the training log does), for the model and for ``prelabel_text``, and
prints one table per source plus the pooled figure. The rules are the reference of the silver source,
so their score there is 1.0 by construction: that row says how well the model learned the rules.

    python scripts/model_vs_rules.py --config configs/judgment_full.yaml \
        --model runs/judgment_full/model-best --out runs/model_vs_rules.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.tagging.evaluate import evaluate_sources
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.config import load_config
from nlp_judgments.training.data import read_sources, source_dev_set


class Rules:
    """The rule pre-labeller behind the tagger interface that ``evaluate_sources`` uses."""

    def predict_spans(self, texts):
        return [prelabel_text(t) for t in texts]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="the training config (its data.sources)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default="runs/model_vs_rules.json")
    args = ap.parse_args(argv)

    config = load_config(args.config)
    labels = list(config.data.labels)
    dev_sets = [source_dev_set(src, labels) for src in read_sources(config) if src.dev_docs]
    result = {"model": evaluate_sources(Tagger.load(args.model), dev_sets), "rules": evaluate_sources(Rules(), dev_sets)}

    for name in (s.name for s in dev_sets):
        model, rules = result["model"]["sources"][name], result["rules"]["sources"][name]
        print(f"\n{name}: {model['documents']} dev documents, scored on {', '.join(model['labels'])}")
        print(f"  {'label':<14} {'support':>7} {'model F1':>9} {'rules F1':>9}")
        for label in model["labels"]:
            m, r = model["per_type"].get(label), rules["per_type"].get(label)
            support = (m or r or {}).get("support", 0)
            print(f"  {label:<14} {support:>7} {m['f1'] if m else 0:>9.3f} {r['f1'] if r else 0:>9.3f}")
        print(f"  {'micro':<14} {model['micro']['support']:>7} {model['micro']['f1']:>9.3f} {rules['micro']['f1']:>9.3f}")
    print(f"\npooled micro-F1: model {result['model']['micro']['f1']:.4f}, rules {result['rules']['micro']['f1']:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
