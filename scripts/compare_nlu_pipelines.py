"""Train candidate NLU pipelines on data/nlu and score each on the held-out sets (docs/nlu.md's table).

    python -m scripts.compare_nlu_pipelines [--pipelines diet linear ...] [--seeds 2021 7 42]

Each docs/nlu-pipelines/<name>.yml is trained with `rasa train nlu` (once per seed; `{seed}` in a file is
replaced) and evaluated by scripts/evaluate_nlu.py, which also scores the linear peer. Prints one Markdown
row per pipeline and seed: intent macro-F1 per held-out set, the informal parts, FAQ topic macro-F1
pooled end to end, out-of-knowledge share, training time and parse latency during the evaluation.
A pipeline takes 1-6 minutes to train on 2 cores; the figures are written to results/nlu/pipelines.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "docs" / "nlu-pipelines"
OUT = ROOT / "results" / "nlu" / "pipelines"


def train(name: str, seed: int) -> tuple:
    config = (PIPELINES / f"{name}.yml").read_text(encoding="utf-8").replace("{seed}", str(seed))
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=OUT, delete=False) as handle:
        handle.write(config)
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "rasa"), "train", "nlu", "-c", handle.name,
                             "--nlu", "data/nlu", "--out", str(OUT), "--fixed-model-name", f"{name}-{seed}"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    os.unlink(handle.name)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"training {name} failed")
    return OUT / f"{name}-{seed}.tar.gz", elapsed


def evaluate(model: Path) -> dict:
    figures = OUT / f"{model.name}.json"
    subprocess.run([sys.executable, "-m", "scripts.evaluate_nlu", "--json", str(figures)], cwd=ROOT,
                   env={**os.environ, "MODEL": str(model)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return json.loads(figures.read_text())


def row(name: str, seed: int, seconds: float, f: dict) -> str:
    sets = f["sets"]
    cells = [f"{sets[s]['intent_macro_f1']:.3f}" for s in ("held-out", "informal", "realistic")]
    cells += [f"{sets[s]['informal_intent_macro_f1']:.3f}" for s in ("held-out", "informal", "realistic")]
    cells += [f"{f['faq_topic_macro_f1_pooled']:.3f}", f"{f['out_of_knowledge']:.3f}",
              f"{f['probes']['probe']['intent_macro_f1']:.3f}", f"{f['out_of_knowledge_probe']:.3f}",
              f"{seconds:.0f} s", f"{f['parse_ms_p50']:.1f} / {f['parse_ms_p95']:.1f} ms"]
    return f"| {name} | {seed} | " + " | ".join(cells) + " |"


HEADER = ("| pipeline | seed | held-out | informal | realistic | held-out informal part | informal informal part | "
          "realistic informal part | FAQ topics (pooled) | out of knowledge | probe | out-of-knowledge probe | "
          "`rasa train nlu` | parse p50 / p95 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipelines", nargs="+", default=sorted(p.stem for p in PIPELINES.glob("*.yml")))
    parser.add_argument("--seeds", nargs="+", type=int, default=[2021])
    args = parser.parse_args(argv)
    results, lines = {}, [HEADER]
    for name in args.pipelines:
        for seed in args.seeds:
            model, seconds = train(name, seed)
            figures = evaluate(model)
            results[f"{name}-{seed}"] = {"train_seconds": seconds, **figures}
            lines.append(row(name, seed, seconds, figures))
            print(lines[-1], flush=True)
    (OUT / "pipelines.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
