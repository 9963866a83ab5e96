"""Trains the Rasa model only when config.yml, domain/ or data/ changed since the last training.

    python -m scripts.train_if_changed [--force]

The fingerprint of the training inputs is stored beside the model (models/assistant.fingerprint).
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "assistant.tar.gz"
FINGERPRINT = ROOT / "models" / "assistant.fingerprint"
TRAINING_INPUTS = ("config.yml", "domain", "data")


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    args = parser.parse_args(argv)
    fingerprint = training_fingerprint()
    if not args.force and MODEL.exists() and FINGERPRINT.exists() and FINGERPRINT.read_text() == fingerprint:
        print(f"Model is up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("Training the Rasa model (config, domain or data changed)...", flush=True)
    started = time.monotonic()
    command = [str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.yml", "--domain", "domain",
               "--data", "data", "--out", "models", "--fixed-model-name", "assistant"]
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        return result.returncode
    FINGERPRINT.write_text(fingerprint)
    print(f"Trained in {time.monotonic() - started:.0f} s: {MODEL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
