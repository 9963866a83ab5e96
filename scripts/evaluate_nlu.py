"""`make evaluate`: how well the assistant understands Indonesian, on data it never trained on.

    python -m scripts.evaluate_nlu [--cross-validation] [--min-macro-f1 0.95] [--min-informal-f1 0.92]
                                   [--min-entity-f1 0.95] [--model models/assistant.tar.gz]

1. The trained model (models/assistant.tar.gz) on the held-out sets tests/nlu/test_nlu.yml and
   tests/nlu/test_nlu_informal.yml (never used for training);
2. entity extraction on tests/nlu/test_entities.yml: precision/recall/F1 per entity type, counting
   (entity, normalized value) pairs, so "0812 9988 7766" must come out as "+6281299887766";
3. with --cross-validation, 3-fold cross-validation of data/nlu with config.yml.
Writes results/nlu/report.md (per-intent precision/recall/F1, FAQ topics, the confusions with
their texts) and prints macro-F1. Exits 1 when a threshold given on the command line is missed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "nlu"
MODEL = Path(os.environ.get("MODEL", ROOT / "models" / "assistant.tar.gz"))
HELD_OUT = {"held-out": ROOT / "tests" / "nlu" / "test_nlu.yml",
            "informal": ROOT / "tests" / "nlu" / "test_nlu_informal.yml"}
ENTITY_TEST = ROOT / "tests" / "nlu" / "test_entities.yml"


def rasa(*args: str) -> None:
    command = [str(Path(sys.executable).parent / "rasa"), *args]
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(command)}")


def evaluate_held_out(name: str, test_file: Path) -> Path:
    out = RESULTS / name
    rasa("test", "nlu", "--model", str(MODEL), "--nlu", str(test_file), "--out", str(out), "--no-plot")
    return out


def cross_validate() -> Path:
    out = RESULTS / "cross-validation"
    rasa("test", "nlu", "--nlu", "data/nlu", "--config", "config.yml", "--cross-validation", "--folds", "3",
         "--out", str(out), "--no-plot")
    return out


def load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def intent_scores(out: Path) -> Tuple[float, Dict[str, dict]]:
    report = load(out / "intent_report.json")
    per_intent = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
                  and k not in ("macro avg", "weighted avg", "micro avg")}
    return report["macro avg"]["f1-score"], per_intent


def faq_scores(out: Path) -> Tuple[float, Dict[str, dict]]:
    report = load(out / "response_selection_report.json") or {}
    per_topic = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
                 and k not in ("macro avg", "weighted avg", "micro avg")}
    return (report.get("macro avg", {}).get("f1-score", float("nan")), per_topic)


def table(rows: Dict[str, dict]) -> List[str]:
    lines = ["| label | precision | recall | F1 | examples |", "|---|---:|---:|---:|---:|"]
    for label, row in sorted(rows.items(), key=lambda item: item[1]["f1-score"]):
        lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1-score']:.3f} | "
                     f"{row['support']} |")
    return lines


def confusions(out: Path) -> List[str]:
    errors = load(out / "intent_errors.json") or []
    pairs = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    lines = ["| expected | predicted | count | texts |", "|---|---|---:|---|"]
    for (expected, predicted), count in pairs.most_common():
        texts = [e["text"] for e in errors if (e["intent"], e["intent_prediction"]["name"]) == (expected, predicted)]
        lines.append(f"| {expected} | {predicted} | {count} | {' · '.join(texts[:5])} |")
    return lines if errors else ["No confusions."]


def section(title: str, out: Path) -> Tuple[List[str], float, float]:
    macro, per_intent = intent_scores(out)
    faq_macro, per_topic = faq_scores(out)
    lines = [f"## {title}", "", f"Intent macro-F1: **{macro:.3f}**; FAQ topic macro-F1: **{faq_macro:.3f}**", "",
             "### Intents", "", *table(per_intent), "", "### Confusions", "", *confusions(out), ""]
    if per_topic:
        lines += ["### FAQ topics", "", *table(per_topic), ""]
    return lines, macro, faq_macro


def evaluate_entities(test_file: Path) -> Tuple[List[str], float]:
    """Entity precision/recall/F1 per type over (entity, value) pairs, and the messages it got wrong."""
    import logging

    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    import structlog

    logging.getLogger("rasa").setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    agent = Agent.load(str(MODEL))
    counts: Dict[str, Counter] = {}
    mistakes = []
    for example in load_data(str(test_file)).nlu_examples:
        expected = Counter((e["entity"], str(e["value"])) for e in example.get("entities") or [])
        parsed = asyncio.run(agent.parse_message(example.get("text")))
        predicted = Counter((e["entity"], str(e["value"])) for e in parsed.get("entities") or [])
        for (entity, _), n in (expected & predicted).items():
            counts.setdefault(entity, Counter())["tp"] += n
        for (entity, _), n in (predicted - expected).items():
            counts.setdefault(entity, Counter())["fp"] += n
        for (entity, _), n in (expected - predicted).items():
            counts.setdefault(entity, Counter())["fn"] += n
        if expected != predicted:
            mistakes.append(f"| {example.get('text')} | {dict(expected)} | {dict(predicted)} |")
    rows = {}
    for entity, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows[entity] = {"precision": precision, "recall": recall, "f1-score": f1, "support": c["tp"] + c["fn"]}
    macro = sum(r["f1-score"] for r in rows.values()) / len(rows) if rows else float("nan")
    lines = [f"## Entities ({test_file.relative_to(ROOT)})", "", f"Entity macro-F1: **{macro:.3f}**", "",
             *table(rows), "", "### Messages with wrong entities", ""]
    lines += ["| text | expected | predicted |", "|---|---|---|", *mistakes] if mistakes else ["None."]
    return lines + [""], macro


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cross-validation", action="store_true")
    parser.add_argument("--min-macro-f1", type=float)
    parser.add_argument("--min-informal-f1", type=float)
    parser.add_argument("--min-entity-f1", type=float)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        raise SystemExit("no trained model: run `make train` first")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = ["# NLU evaluation", ""]
    scores = {}
    for name, test_file in HELD_OUT.items():
        lines, macro, faq_macro = section(f"{name} ({test_file.relative_to(ROOT)})", evaluate_held_out(name, test_file))
        report += lines
        scores[name] = macro
        print(f"{name:>16}: intent macro-F1 {macro:.3f}, FAQ topic macro-F1 {faq_macro:.3f}")
    lines, scores["entities"] = evaluate_entities(ENTITY_TEST)
    report += lines
    print(f"{'entities':>16}: entity macro-F1 {scores['entities']:.3f} over (entity, value) pairs")
    if args.cross_validation:
        lines, macro, faq_macro = section("3-fold cross-validation (data/nlu)", cross_validate())
        report += lines
        print(f"{'cross-validation':>16}: intent macro-F1 {macro:.3f}, FAQ topic macro-F1 {faq_macro:.3f}")
    (RESULTS / "report.md").write_text("\n".join(report), encoding="utf-8")
    print(f"Report: {(RESULTS / 'report.md').relative_to(ROOT)}")
    failed = [f"{name} macro-F1 {scores[name]:.3f} < {limit}" for name, limit in
              (("held-out", args.min_macro_f1), ("informal", args.min_informal_f1),
               ("entities", args.min_entity_f1))
              if limit is not None and scores[name] < limit]
    for failure in failed:
        print(f"BELOW TARGET: {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
