"""Benchmark: over-long messages must not stall anyone (`make benchmark-hostile`).

Starts the whole assistant on free ports (as the conversation tests do), then:
1. baseline: one ordinary user types realistic turns; their reply latencies (p50/p95);
2. flood: 100 messages of 100 KB sent at once from 100 conversations while the ordinary user goes on;
   the ordinary user's latencies during the flood, each over-long message's reply time, and the Rasa
   server's resident memory (RSS) before and after.
Prints a table; the targets: the ordinary user's p95 unchanged within noise, every over-long message
answered in < 1 s, Rasa's RSS within 10% of its idle size.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conversation.harness import RunningAssistant  # noqa: E402

ORDINARY_TURNS = ("halo", "apakah vaksin halal?", "menu", "Vaksin", "ya", "900012", "kenapa harus NIK?", "batal",
                  "cek status vaksin", "batal", "terima kasih", "efek samping vaksin apa aja min")
FLOOD_MESSAGES, FLOOD_BYTES = 100, 100_000


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def ordinary_user(url: str, rounds: int, stop: threading.Event = None):
    latencies, sender, turn = [], f"ordinary-{time.monotonic_ns()}", 0
    while turn < rounds and not (stop and stop.is_set()):
        text = ORDINARY_TURNS[turn % len(ORDINARY_TURNS)]
        started = time.perf_counter()
        requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
        latencies.append((time.perf_counter() - started) * 1000)
        turn += 1
    return latencies


def main() -> int:
    stack = RunningAssistant(Path(tempfile.mkdtemp(prefix="bench-hostile-"))).start()
    url, pid = stack.urls["rasa"], stack.processes["rasa"].pid
    try:
        ordinary_user(url, 24)  # warm up
        time.sleep(2)
        idle_rss = rss_mib(pid)
        baseline = ordinary_user(url, 60)
        flood_times, during = [], []
        body = "kata " * (FLOOD_BYTES // 5)

        def flood(index: int) -> float:
            started = time.perf_counter()
            reply = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": f"flood-{index}", "message": body},
                                  timeout=120).json()
            assert reply and "terlalu panjang" in reply[0]["text"], reply
            return (time.perf_counter() - started) * 1000

        stop = threading.Event()
        user = ThreadPoolExecutor(1).submit(ordinary_user, url, 60, stop)
        time.sleep(0.5)
        with ThreadPoolExecutor(max_workers=FLOOD_MESSAGES) as pool:
            flood_times = list(pool.map(flood, range(FLOOD_MESSAGES)))
        during = user.result()
        time.sleep(2)
        after_rss = rss_mib(pid)
    finally:
        stack.stop()
    print("\n| measure | value | target |\n|---|---|---|")
    print(f"| ordinary user p50 / p95, idle | {statistics.median(baseline):.0f} / {percentile(baseline, .95):.0f} ms | |")
    print(f"| ordinary user p50 / p95, during {FLOOD_MESSAGES} x {FLOOD_BYTES // 1000} KB | "
          f"{statistics.median(during):.0f} / {percentile(during, .95):.0f} ms | p95 unchanged within noise |")
    print(f"| over-long message reply: max / p95 | {max(flood_times):.0f} / {percentile(flood_times, .95):.0f} ms "
          f"| < 1000 ms each |")
    print(f"| Rasa RSS idle -> after flood | {idle_rss:.0f} -> {after_rss:.0f} MiB "
          f"({(after_rss - idle_rss) / idle_rss * 100:+.1f}%) | within 10% |")
    ok = max(flood_times) < 1000 and after_rss <= idle_rss * 1.10
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
