"""`make check-data`: `rasa data validate`, examples filed under two intents, and held-out leaks.

Texts are compared after the same normalization the model applies (lexicon, lower case, no
punctuation). Across intents of data/nlu, identical examples are errors (exit 1) and near-identical
ones (similarity >= 0.9) are listed for a trainer to look at. A held-out test message (tests/nlu/)
identical or near-identical to a training example is an error: the test sets measure how the model
does on messages it never saw, and a copied or lightly edited example would inflate them.
"""
from __future__ import annotations

import bisect
import difflib
import itertools
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

from rasa_extensions.nlu.lexicon import load_lexicon, normalize

ROOT = Path(__file__).resolve().parents[1]
NEAR = 0.9
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")


def examples_by_intent() -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = defaultdict(list)
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                for line in str(block.get("examples", "")).splitlines():
                    text = line.strip()[2:] if line.strip().startswith("- ") else ""
                    if text:
                        found[block["intent"]].append(_ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text))
    return found


def comparable(text: str, lexicon) -> str:
    text = normalize(text, lexicon)[0].lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def clashes(found: Dict[str, List[str]], lexicon) -> Tuple[list, list]:
    seen = {}
    identical, near = [], []
    for intent, texts in found.items():
        for text in texts:
            key = comparable(text, lexicon)
            if key in seen and seen[key][0] != intent:
                identical.append((seen[key], (intent, text)))
            seen.setdefault(key, (intent, text))
    items = [(key, intent, text) for key, (intent, text) in seen.items() if len(key) >= 8]
    for (k1, i1, t1), (k2, i2, t2) in itertools.combinations(items, 2):
        if i1 == i2 or (i1.startswith("faq/") and i2.startswith("faq/")):
            continue
        matcher = difflib.SequenceMatcher(None, k1, k2)
        # The quick upper bounds skip most pairs before the exact (slow) ratio.
        if matcher.real_quick_ratio() >= NEAR and matcher.quick_ratio() >= NEAR and matcher.ratio() >= NEAR:
            near.append(((i1, t1), (i2, t2)))
    return identical, near


def held_out_texts() -> Dict[str, List[str]]:
    """The messages of every held-out file of tests/nlu (intent sets and the out-of-knowledge questions)."""
    found: Dict[str, List[str]] = {}
    for path in sorted((ROOT / "tests" / "nlu").glob("*.yml")):
        if path.name == "test_entities.yml":  # values, not intents: "nama saya Siti" is meant to repeat
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        texts = [str(q) for q in data.get("questions", [])]
        for block in data.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    texts.append(_ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line.strip()[2:]))
        found[path.name] = [t for t in texts if t.strip()]
    return found


def leaks(found: Dict[str, List[str]], held_out: Dict[str, List[str]], lexicon) -> List[Tuple[str, str, str]]:
    """(test file, test text, training text) for each held-out message that a training example (nearly) repeats.

    Compared as typed (lower case, no punctuation), and after the lexicon for messages long enough to
    say something of their own: that "makasiiih kak" and "mksh kak" both read "terima kasih kak" is
    the normalizer's work, not a leak, but a sentence rewritten in slang is.
    """
    as_typed = _Index({comparable(text, {}): text for texts in found.values() for text in texts}, 12)
    normalized = _Index({comparable(text, lexicon): text for texts in found.values() for text in texts}, 20)
    found_leaks = []
    for name, texts in held_out.items():
        for text in texts:
            repeated = as_typed.repeated(comparable(text, {})) or normalized.repeated(comparable(text, lexicon))
            if repeated:
                found_leaks.append((name, text, repeated))
    return found_leaks


class _Index:
    """Training texts by length: a ratio >= NEAR needs lengths within NEAR of each other."""

    def __init__(self, texts: Dict[str, str], min_length: int) -> None:
        self.texts, self.min_length = texts, min_length
        self.keys = sorted((k for k in texts if len(k) >= min_length), key=len)
        self.lengths = [len(k) for k in self.keys]

    def repeated(self, key: str):
        if len(key) < self.min_length:
            return None
        if key in self.texts:
            return self.texts[key]
        low, high = len(key) * NEAR / (2 - NEAR), len(key) * (2 - NEAR) / NEAR
        matcher = difflib.SequenceMatcher(None)
        matcher.set_seq2(key)  # difflib caches what it learns about the second sequence
        for other in self.keys[bisect.bisect_left(self.lengths, low):bisect.bisect_right(self.lengths, high)]:
            matcher.set_seq1(other)
            if matcher.real_quick_ratio() >= NEAR and matcher.quick_ratio() >= NEAR and matcher.ratio() >= NEAR:
                return self.texts[other]
        return None


def main() -> int:
    validate = subprocess.run([str(Path(sys.executable).parent / "rasa"), "data", "validate", "--domain", "domain",
                               "--data", "data", "--config", "config.yml"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if validate.returncode != 0:
        sys.stderr.write(validate.stderr[-3000:])
        print("rasa data validate: FAILED")
        return 1
    print("rasa data validate: ok")
    found = examples_by_intent()
    lexicon = load_lexicon(ROOT / "data" / "lexicon" / "normalization.txt")
    identical, near = clashes(found, lexicon)
    print(f"{sum(map(len, found.values()))} examples in {len(found)} intents")
    for (i1, t1), (i2, t2) in identical:
        print(f"IDENTICAL across intents: {i1}: {t1!r}  <->  {i2}: {t2!r}")
    for (i1, t1), (i2, t2) in near:
        print(f"near-identical: {i1}: {t1!r}  <->  {i2}: {t2!r}")
    print(f"{len(identical)} identical, {len(near)} near-identical examples across intents")
    held_out = held_out_texts()
    leaked = leaks(found, held_out, lexicon)
    for name, text, training_text in leaked:
        print(f"HELD-OUT LEAK: tests/nlu/{name}: {text!r} repeats the training example {training_text!r}")
    print(f"{sum(map(len, held_out.values()))} held-out messages in {len(held_out)} files, {len(leaked)} "
          f"repeating a training example")
    return 1 if identical or leaked else 0


if __name__ == "__main__":
    sys.exit(main())
