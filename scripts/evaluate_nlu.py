"""`make evaluate`: how well the assistant understands Indonesian, on data it never trained on.

    python -m scripts.evaluate_nlu [--cross-validation] [--json results/nlu/summary.json]
        [--min-macro-f1 0.95] [--min-informal-f1 0.93] [--min-faq-f1 0.93]
        [--min-out-of-knowledge 0.90] [--min-entity-f1 0.95] [--min-lead-over-peer 0.0]

The trained model (models/assistant.tar.gz, or MODEL=path) parses, in this process, every message of
  - the held-out intent sets: tests/nlu/test_nlu.yml (short messages), test_nlu_informal.yml (slang,
    abbreviations) and test_nlu_realistic.yml (WhatsApp traffic: greeting + request, thanks + goodbye,
    stories, code-mixing, long messages);
  - tests/nlu/test_out_of_knowledge.yml: questions no FAQ topic covers;
  - the fresh probes test_nlu_probe.yml and test_out_of_knowledge_probe.yml (reported, never gated);
  - tests/nlu/test_entities.yml: entity values.
Figures, per held-out set:
  - intent macro-F1 over the intents of the set; "Maksud Anda ...?" (nlu_fallback) counts as wrong;
  - the same on the set's informal part: the messages the normalizer's lexicon rewrites;
  - FAQ topic macro-F1 end to end: a FAQ question whose intent was missed counts as a wrong topic, a
    non-FAQ message given a topic counts against that topic; pooled over the three sets as well;
  - the linear peer on the same messages: TF-IDF (char 2-5 + word 1-2) + linear SVM, trained on
    data/nlu, which the assistant has to beat.
Out of knowledge: the share answered without a wrong answer (faq/not_covered, nlu_fallback or
out_of_scope). Entities: precision/recall/F1 per type over (entity, normalized value) pairs.
--cross-validation adds `rasa test nlu` 3-fold cross-validation of data/nlu with config.yml.
Writes results/nlu/report.md; exits 1 when a threshold given on the command line is missed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "nlu"
MODEL = Path(os.environ.get("MODEL", ROOT / "models" / "assistant.tar.gz"))
HELD_OUT = {"held-out": ROOT / "tests" / "nlu" / "test_nlu.yml",
            "informal": ROOT / "tests" / "nlu" / "test_nlu_informal.yml",
            "realistic": ROOT / "tests" / "nlu" / "test_nlu_realistic.yml"}
# Written after tuning and never looked at while tuning: reported, not gated (see their headers).
PROBES = {"probe": ROOT / "tests" / "nlu" / "test_nlu_probe.yml"}
OUT_OF_KNOWLEDGE = ROOT / "tests" / "nlu" / "test_out_of_knowledge.yml"
OUT_OF_KNOWLEDGE_PROBE = ROOT / "tests" / "nlu" / "test_out_of_knowledge_probe.yml"
ENTITY_TEST = ROOT / "tests" / "nlu" / "test_entities.yml"
LEXICON = ROOT / "data" / "lexicon" / "normalization.txt"
FAQ = "faq"
NOT_COVERED = "faq/not_covered"
NO_TOPIC = "-"
# Replies to an out-of-knowledge question that are not a wrong answer.
HONEST_INTENTS = {"nlu_fallback", "out_of_scope"}
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")


# ---------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Example:
    text: str
    label: str  # the intent, or faq/<topic> for a FAQ question

    @property
    def intent(self) -> str:
        return base_intent(self.label)

    @property
    def topic(self) -> str:
        return self.label if self.intent == FAQ else NO_TOPIC


@dataclass(frozen=True)
class Prediction:
    intent: str
    topic: str  # faq/<topic> when the intent is faq, else NO_TOPIC


def base_intent(label: str) -> str:
    return label.split("/", 1)[0]


def plain(text: str) -> str:
    """The text of a training or test line without entity annotations."""
    return _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text).strip()


def load_examples(path: Path) -> List[Example]:
    """The (text, label) pairs of a Rasa NLU file, or of a directory of them (regex and lookup blocks skipped)."""
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    examples = []
    for file in files:
        for block in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- ") and plain(line[2:]):
                    examples.append(Example(plain(line[2:]), block["intent"]))
    return examples


def load_questions(path: Path) -> List[str]:
    return [str(q).strip() for q in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions", [])]


# ------------------------------------------------------------------------------------------- metrics
def f1_table(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str]) -> Dict[str, dict]:
    """Precision, recall and F1 of each label (labels absent from `gold` can still be predicted)."""
    rows = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows[label] = {"precision": precision, "recall": recall, "f1-score": f1, "support": tp + fn}
    return rows


def macro_f1(gold: Sequence[str], predicted: Sequence[str], exclude: Iterable[str] = ()) -> float:
    """Macro-F1 over the labels present in `gold`; predicting any other label only costs recall."""
    labels = sorted(set(gold) - set(exclude))
    if not labels:
        return float("nan")
    rows = f1_table(gold, predicted, labels)
    return sum(r["f1-score"] for r in rows.values()) / len(rows)


def intent_macro_f1(examples: Sequence[Example], predictions: Sequence[Prediction]) -> float:
    return macro_f1([e.intent for e in examples], [p.intent for p in predictions])


def topic_macro_f1(examples: Sequence[Example], predictions: Sequence[Prediction]) -> float:
    """End to end: the topic counts only when the intent is faq, and every message of the set takes part."""
    return macro_f1([e.topic for e in examples], [p.topic for p in predictions], exclude=[NO_TOPIC])


def is_honest_unknown(prediction: Prediction) -> bool:
    return prediction.intent in HONEST_INTENTS or (prediction.intent == FAQ and prediction.topic == NOT_COVERED)


# ----------------------------------------------------------------------------------------- the peer
class LinearPeer:
    """The baseline to beat: TF-IDF over character 2-5-grams and word 1-2-grams, and a linear SVM.

    Trained on the assistant's own training data (data/nlu), on the raw text, one flat label per example
    (faq/<topic> for FAQ questions), so it answers the intent and the topic at once.
    """

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, make_pipeline
        from sklearn.svm import LinearSVC

        features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
        ])
        self.model = make_pipeline(features, LinearSVC(C=1.0))

    def fit(self, examples: Sequence[Example]) -> "LinearPeer":
        self.model.fit([e.text for e in examples], [e.label for e in examples])
        return self

    def predict(self, texts: Sequence[str]) -> List[Prediction]:
        labels = self.model.predict(list(texts)) if texts else []
        return [Prediction(base_intent(label), label if base_intent(label) == FAQ else NO_TOPIC) for label in labels]


# ------------------------------------------------------------------------------------ the assistant
class Assistant:
    """The trained Rasa model, parsing in this process as the Rasa server does."""

    def __init__(self, model: Path) -> None:
        import structlog
        from rasa.core.agent import Agent

        logging.getLogger("rasa").setLevel(logging.WARNING)
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        self.agent = Agent.load(str(model))
        self._loop = asyncio.new_event_loop()
        self.parse_ms: List[float] = []

    def parse(self, text: str) -> dict:
        started = time.perf_counter()
        parsed = self._loop.run_until_complete(self.agent.parse_message(text))
        self.parse_ms.append((time.perf_counter() - started) * 1000)
        return parsed

    def predict(self, texts: Sequence[str]) -> List[Prediction]:
        return [self._prediction(self.parse(text)) for text in texts]

    @staticmethod
    def _prediction(parsed: dict) -> Prediction:
        intent = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
        topic = NO_TOPIC
        if intent == FAQ:
            selected = (parsed.get("response_selector") or {}).get(FAQ) or {}
            topic = (selected.get("response") or {}).get("intent_response_key") or NO_TOPIC
        return Prediction(intent, topic)


# --------------------------------------------------------------------------------------- one set
@dataclass
class SetResult:
    name: str
    examples: List[Example]
    predictions: List[Prediction]
    peer: List[Prediction]
    informal: List[bool] = field(default_factory=list)

    def part(self, which: List[bool]) -> Tuple[List[Example], List[Prediction], List[Prediction]]:
        chosen = [i for i, keep in enumerate(which) if keep]
        return ([self.examples[i] for i in chosen], [self.predictions[i] for i in chosen],
                [self.peer[i] for i in chosen])

    def figures(self) -> dict:
        informal = self.part(self.informal)
        return {
            "messages": len(self.examples),
            "intent_macro_f1": intent_macro_f1(self.examples, self.predictions),
            "peer_intent_macro_f1": intent_macro_f1(self.examples, self.peer),
            "informal_messages": len(informal[0]),
            "informal_intent_macro_f1": intent_macro_f1(informal[0], informal[1]),
            "peer_informal_intent_macro_f1": intent_macro_f1(informal[0], informal[2]),
            "faq_topic_macro_f1": topic_macro_f1(self.examples, self.predictions),
            "peer_faq_topic_macro_f1": topic_macro_f1(self.examples, self.peer),
            "fallbacks": sum(p.intent == "nlu_fallback" for p in self.predictions),
        }


def is_informal(text: str, lexicon: Dict[str, str]) -> bool:
    from rasa_extensions.nlu.lexicon import normalize

    return normalize(text, lexicon)[0] != text


# -------------------------------------------------------------------------------------- the report
def table(rows: Dict[str, dict]) -> List[str]:
    lines = ["| label | precision | recall | F1 | examples |", "|---|---:|---:|---:|---:|"]
    for label, row in sorted(rows.items(), key=lambda item: (item[1]["f1-score"], item[0])):
        lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1-score']:.3f} | "
                     f"{row['support']} |")
    return lines


def confusions(pairs: List[Tuple[str, str, str]]) -> List[str]:
    counted = Counter((expected, predicted) for expected, predicted, _ in pairs)
    if not counted:
        return ["No confusions."]
    lines = ["| expected | predicted | count | texts |", "|---|---|---:|---|"]
    for (expected, predicted), count in counted.most_common():
        texts = [t for e, p, t in pairs if (e, p) == (expected, predicted)]
        lines.append(f"| {expected} | {predicted} | {count} | {' · '.join(texts[:4])} |")
    return lines


def set_section(result: SetResult, path: Path) -> List[str]:
    f = result.figures()
    gold = [e.intent for e in result.examples]
    predicted = [p.intent for p in result.predictions]
    intent_errors = [(e.intent, p.intent, e.text) for e, p in zip(result.examples, result.predictions)
                     if e.intent != p.intent]
    topic_errors = [(e.topic, p.topic, e.text) for e, p in zip(result.examples, result.predictions)
                    if e.intent == FAQ and e.topic != p.topic]
    return [
        f"## {result.name} ({path.relative_to(ROOT)}, {f['messages']} messages)", "",
        "| figure | assistant | linear peer |", "|---|---:|---:|",
        f"| intent macro-F1 | **{f['intent_macro_f1']:.3f}** | {f['peer_intent_macro_f1']:.3f} |",
        f"| informal part ({f['informal_messages']} messages) intent macro-F1 | "
        f"**{f['informal_intent_macro_f1']:.3f}** | {f['peer_informal_intent_macro_f1']:.3f} |",
        f"| FAQ topic macro-F1, end to end | **{f['faq_topic_macro_f1']:.3f}** | {f['peer_faq_topic_macro_f1']:.3f} |",
        f"| \"Maksud Anda ...?\" (nlu_fallback) | {f['fallbacks']} | - |", "",
        "### Intents", "", *table(f1_table(gold, predicted, sorted(set(gold)))), "",
        "### Intent confusions", "", *confusions(intent_errors), "",
        "### FAQ topic confusions (end to end)", "", *confusions(topic_errors), "",
    ]


def out_of_knowledge_section(path: Path, questions: List[str], predictions: List[Prediction],
                             peer: List[Prediction]) -> Tuple[List[str], float, float]:
    honest = [is_honest_unknown(p) for p in predictions]
    share = sum(honest) / len(questions) if questions else float("nan")
    peer_share = sum(is_honest_unknown(p) for p in peer) / len(questions) if questions else float("nan")
    wrong = [(q, p.topic if p.intent == FAQ else p.intent) for q, p, ok in zip(questions, predictions, honest) if not ok]
    outcomes = Counter(p.topic if p.intent == FAQ else p.intent for p in predictions)
    lines = [f"## Out of knowledge ({path.relative_to(ROOT)}, {len(questions)} questions)", "",
             f"Answered without a wrong answer: **{share:.3f}** (linear peer {peer_share:.3f}).", "",
             "Replies: " + ", ".join(f"{name} {count}" for name, count in outcomes.most_common()), "",
             "### Wrong answers", ""]
    lines += ["| question | answered as |", "|---|---|", *[f"| {q} | {a} |" for q, a in wrong]] if wrong else ["None."]
    return lines + [""], share, peer_share


def evaluate_entities(assistant: Assistant, test_file: Path) -> Tuple[List[str], float]:
    """Entity precision/recall/F1 per type over (entity, value) pairs, and the messages it got wrong."""
    from rasa.shared.nlu.training_data.loading import load_data

    counts: Dict[str, Counter] = {}
    mistakes = []
    for example in load_data(str(test_file)).nlu_examples:
        expected = Counter((e["entity"], str(e["value"])) for e in example.get("entities") or [])
        parsed = assistant.parse(example.get("text"))
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


def cross_validate() -> List[str]:
    out = RESULTS / "cross-validation"
    command = [str(Path(sys.executable).parent / "rasa"), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
               "--cross-validation", "--folds", "3", "--out", str(out), "--no-plot"]
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    report = json.loads((out / "intent_report.json").read_text())
    macro = report["macro avg"]["f1-score"]
    print(f"{'cross-validation':>22}: intent macro-F1 {macro:.3f} (rasa test nlu, 3 folds of data/nlu)")
    return ["## 3-fold cross-validation (data/nlu, `rasa test nlu`)", "", f"Intent macro-F1: **{macro:.3f}**", ""]


# --------------------------------------------------------------------------------------------- main
def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def targets_missed(summary: dict, args: argparse.Namespace) -> List[str]:
    missed = []
    for name, figures in summary["sets"].items():
        checks = [("intent macro-F1", figures["intent_macro_f1"], args.min_macro_f1),
                  ("informal-part intent macro-F1", figures["informal_intent_macro_f1"], args.min_informal_f1)]
        for what, value, limit in checks:
            if limit is not None and not value >= limit:
                missed.append(f"{name}: {what} {value:.3f} < {limit}")
        if args.min_lead_over_peer is not None:
            for what, ours, theirs in (("intent macro-F1", "intent_macro_f1", "peer_intent_macro_f1"),
                                       ("informal-part intent macro-F1", "informal_intent_macro_f1",
                                        "peer_informal_intent_macro_f1")):
                if not figures[ours] - figures[theirs] >= args.min_lead_over_peer:
                    missed.append(f"{name}: {what} {figures[ours]:.3f} does not beat the linear peer's "
                                  f"{figures[theirs]:.3f} by {args.min_lead_over_peer}")
    pooled = summary["faq_topic_macro_f1_pooled"]
    if args.min_faq_f1 is not None and not pooled >= args.min_faq_f1:
        missed.append(f"FAQ topic macro-F1 (end to end, all held-out sets) {pooled:.3f} < {args.min_faq_f1}")
    ook = summary["out_of_knowledge"]
    if args.min_out_of_knowledge is not None and not ook >= args.min_out_of_knowledge:
        missed.append(f"out of knowledge without a wrong answer {ook:.3f} < {args.min_out_of_knowledge}")
    if args.min_entity_f1 is not None and not summary["entity_macro_f1"] >= args.min_entity_f1:
        missed.append(f"entity macro-F1 {summary['entity_macro_f1']:.3f} < {args.min_entity_f1}")
    return missed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cross-validation", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--min-macro-f1", type=float)
    parser.add_argument("--min-informal-f1", type=float)
    parser.add_argument("--min-faq-f1", type=float)
    parser.add_argument("--min-out-of-knowledge", type=float)
    parser.add_argument("--min-entity-f1", type=float)
    parser.add_argument("--min-lead-over-peer", type=float)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        raise SystemExit("no trained model: run `make train` first")
    sys.path.insert(0, str(ROOT))
    from rasa_extensions.nlu.lexicon import load_lexicon

    RESULTS.mkdir(parents=True, exist_ok=True)
    lexicon = load_lexicon(LEXICON)
    peer = LinearPeer().fit(load_examples(ROOT / "data" / "nlu"))
    assistant = Assistant(MODEL)

    report = [f"# NLU evaluation ({MODEL.name})", ""]
    summary: dict = {"model": str(MODEL), "sets": {}}
    results = []
    for name, path in {**HELD_OUT, **PROBES}.items():
        examples = load_examples(path)
        texts = [e.text for e in examples]
        result = SetResult(name, examples, assistant.predict(texts), peer.predict(texts),
                           [is_informal(t, lexicon) for t in texts])
        if name in HELD_OUT:
            results.append(result)
        figures = (summary["sets"] if name in HELD_OUT else summary.setdefault("probes", {}))[name] = result.figures()
        report += set_section(result, path)
        print(f"{name:>22}: intent macro-F1 {figures['intent_macro_f1']:.3f} (peer {figures['peer_intent_macro_f1']:.3f}),"
              f" informal part {figures['informal_intent_macro_f1']:.3f} (peer "
              f"{figures['peer_informal_intent_macro_f1']:.3f}, {figures['informal_messages']} messages),"
              f" FAQ topic {figures['faq_topic_macro_f1']:.3f} (peer {figures['peer_faq_topic_macro_f1']:.3f}),"
              f" {figures['messages']} messages")
    pooled = ([e for r in results for e in r.examples], [p for r in results for p in r.predictions],
              [p for r in results for p in r.peer])
    summary["faq_topic_macro_f1_pooled"] = topic_macro_f1(pooled[0], pooled[1])
    summary["peer_faq_topic_macro_f1_pooled"] = topic_macro_f1(pooled[0], pooled[2])
    topics = sorted({e.topic for e in pooled[0]} - {NO_TOPIC})
    report += [f"## FAQ topics, end to end, all held-out sets ({len(topics)} topics)", "",
               f"Topic macro-F1: **{summary['faq_topic_macro_f1_pooled']:.3f}** "
               f"(linear peer {summary['peer_faq_topic_macro_f1_pooled']:.3f})", "",
               *table(f1_table([e.topic for e in pooled[0]], [p.topic for p in pooled[1]], topics)), ""]
    print(f"{'FAQ topics, pooled':>22}: topic macro-F1 {summary['faq_topic_macro_f1_pooled']:.3f} (peer "
          f"{summary['peer_faq_topic_macro_f1_pooled']:.3f}), {len(topics)} topics, end to end")

    for key, path in (("out_of_knowledge", OUT_OF_KNOWLEDGE), ("out_of_knowledge_probe", OUT_OF_KNOWLEDGE_PROBE)):
        questions = load_questions(path)
        lines, summary[key], summary[f"peer_{key}"] = out_of_knowledge_section(
            path, questions, assistant.predict(questions), peer.predict(questions))
        report += lines
        print(f"{key.replace('_', ' '):>22}: {summary[key]:.3f} without a wrong answer (peer "
              f"{summary[f'peer_{key}']:.3f}), {len(questions)} questions")
    summary["parse_ms_p50"] = percentile(assistant.parse_ms, 0.5)
    summary["parse_ms_p95"] = percentile(assistant.parse_ms, 0.95)

    lines, summary["entity_macro_f1"] = evaluate_entities(assistant, ENTITY_TEST)
    report += lines
    print(f"{'entities':>22}: entity macro-F1 {summary['entity_macro_f1']:.3f} over (entity, value) pairs")
    if args.cross_validation:
        report += cross_validate()
    (RESULTS / "report.md").write_text("\n".join(report), encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"Report: {(RESULTS / 'report.md').relative_to(ROOT)}")
    missed = targets_missed(summary, args)
    for failure in missed:
        print(f"BELOW TARGET: {failure}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
