"""Trains the Rasa model only when config.yml, domain/ or data/ changed since the last training.

    python -m scripts.train_if_changed [--force]

The fingerprint of the training inputs is stored beside the model (models/assistant.fingerprint).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "assistant.tar.gz"
FINGERPRINT = ROOT / "models" / "assistant.fingerprint"
TRAINING_INPUTS = ("config.yml", "domain", "data")
# Rasa caches each trained component by its config and training data; the normalization lexicon is
# neither, so a lexicon change must force a full retraining.
LEXICON = ROOT / "data" / "lexicon" / "normalization.txt"


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = ROOT / name
        # data/intent_labels.csv is read by the action server, not trained on.
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix != ".csv") if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def lexicon_fingerprint() -> str:
    return hashlib.sha256(LEXICON.read_bytes()).hexdigest() if LEXICON.exists() else ""


def previous_fingerprints() -> dict:
    try:
        return json.loads(FINGERPRINT.read_text())
    except (OSError, ValueError):
        return {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    args = parser.parse_args(argv)
    current = {"inputs": training_fingerprint(), "lexicon": lexicon_fingerprint()}
    previous = previous_fingerprints()
    if not args.force and MODEL.exists() and previous == current:
        print(f"Model is up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("Training the Rasa model (config, domain or data changed)...", flush=True)
    started = time.monotonic()
    command = [str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.yml", "--domain", "domain",
               "--data", "data", "--out", "models", "--fixed-model-name", "assistant"]
    if args.force or previous.get("lexicon") != current["lexicon"]:
        command.append("--force")
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        return result.returncode
    FINGERPRINT.write_text(json.dumps(current))
    print(f"Trained in {time.monotonic() - started:.0f} s: {MODEL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
