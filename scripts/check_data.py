"""`make check-data`: `rasa data validate`, then examples filed under two different intents.

Texts are compared after the same normalization the model applies (lexicon, lower case, no
punctuation): identical ones are errors (exit 1), near-identical ones (similarity >= 0.9) are
listed for a trainer to look at.
"""
from __future__ import annotations

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
    return 1 if identical else 0


if __name__ == "__main__":
    sys.exit(main())
