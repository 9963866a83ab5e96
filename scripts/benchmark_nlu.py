"""`make benchmark-nlu`: NLU parse latency of the trained model on this machine.

Parses the held-out messages of tests/nlu/test_nlu.yml (short) and tests/nlu/test_nlu_realistic.yml
(WhatsApp traffic, up to 60 words) ROUNDS times in process, one at a time as the Rasa server does,
after a warm-up, and prints p50/p95/p99 and the mean in milliseconds, of wall-clock time (the target)
and of the process's CPU time (comparable between runs on a busy machine). MODEL=path picks another model.
"""
from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("ROUNDS", "5"))


TEST_FILES = ("test_nlu.yml", "test_nlu_realistic.yml")


def test_texts():
    texts = []
    for name in TEST_FILES:
        text = (ROOT / "tests" / "nlu" / name).read_text(encoding="utf-8")
        texts += [re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", m) for m in re.findall(r"^\s+- (.+)$", text, re.MULTILINE)]
    return texts


async def measure(agent, texts):
    for text in texts[:20]:
        await agent.parse_message(text)  # warm-up: first calls build TensorFlow graphs
    timings, cpu_timings = [], []
    for _ in range(ROUNDS):
        for text in texts:
            started, started_cpu = time.perf_counter(), time.process_time()
            await agent.parse_message(text)
            timings.append((time.perf_counter() - started) * 1000)
            cpu_timings.append((time.process_time() - started_cpu) * 1000)
    return timings, cpu_timings


def percentiles(values):
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return f"p50 {pick(0.50):.1f} ms   p95 {pick(0.95):.1f} ms   p99 {pick(0.99):.1f} ms   " \
           f"mean {statistics.mean(values):.1f} ms"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import logging

    import structlog
    from rasa.core.agent import Agent

    # As in production (INFO and above): Rasa's per-message debug records would dominate the timing.
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))

    agent = Agent.load(os.environ.get("MODEL", str(ROOT / "models" / "assistant.tar.gz")))
    texts = test_texts()
    timings, cpu_timings = asyncio.run(measure(agent, texts))
    print(f"NLU parse latency over {len(timings)} parses ({len(texts)} texts x {ROUNDS}), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}:")
    print(f"  wall clock  {percentiles(timings)}")
    # CPU time of the process (all its threads): what the parse costs, whatever else the machine runs.
    print(f"  CPU time    {percentiles(cpu_timings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
