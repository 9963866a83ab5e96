"""Figures of one benchmark level from the per-message samples, and the tables of the report.

Pure Python (no psutil, no Locust) so that tests/unit can check it from the Rasa venv.
A sample is one user message: {"t": start (epoch s), "ms": latency, "ok": bool, "error": str|None}.
Only messages that *started* inside the measuring window count, so the warm-up (users still
arriving, caches filling) and the ramp-down are left out.
"""
from __future__ import annotations

import json
import math
from typing import Dict, Iterable, List, Optional, Sequence

TARGETS = "0 errors at 50 users; p95 <= 300 ms at 10 users; >= 2x the stock bot's msgs/s at 50 users"


def percentile(values: Sequence[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile (the value below which `fraction` of the samples lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Iterable[dict], window_start: float, window_end: float) -> Dict[str, object]:
    inside = [s for s in samples if window_start <= s["t"] < window_end]
    latencies = [s["ms"] for s in inside]
    errors = [s for s in inside if not s["ok"]]
    seconds = max(window_end - window_start, 1e-9)
    kinds: Dict[str, int] = {}
    for sample in errors:
        kinds[str(sample.get("error"))] = kinds.get(str(sample.get("error")), 0) + 1
    return {
        "messages": len(inside),
        "msgs_per_s": round(len(inside) / seconds, 2),
        # Throughput counts only answered-right messages: a fast wrong answer is no work done.
        "ok_msgs_per_s": round((len(inside) - len(errors)) / seconds, 2),
        "p50_ms": _round(percentile(latencies, 0.50)),
        "p95_ms": _round(percentile(latencies, 0.95)),
        "p99_ms": _round(percentile(latencies, 0.99)),
        "errors": len(errors),
        "error_rate": round(len(errors) / len(inside), 4) if inside else None,
        "error_kinds": dict(sorted(kinds.items(), key=lambda item: -item[1])[:5]),
        "conversations_completed": sum(1 for s in inside if s.get("last_turn") and s["ok"]),
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def read_samples(path) -> List[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ratio(assistant: Dict[str, object], stock: Dict[str, object]) -> Optional[float]:
    """Assistant's correct msgs/s divided by the stock bot's at the same number of users."""
    mine, theirs = assistant.get("ok_msgs_per_s"), stock.get("ok_msgs_per_s")
    if not theirs or mine is None:
        return None
    return round(float(mine) / float(theirs), 2)


def _cell(value: object, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


def results_table(results: List[dict]) -> str:
    """Markdown table: one row per bot and user count, the ratio on the assistant's rows."""
    stock = {r["users"]: r for r in results if r["bot"] == "stock"}
    lines = ["| bot | users | msgs/s (correct) | p50 ms | p95 ms | p99 ms | errors (rate) | conversations | "
             "load avg 1m | x stock |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        peer = stock.get(r["users"])
        times = ratio(r, peer) if r["bot"] == "assistant" and peer else None
        lines.append(f"| {r['bot']} | {r['users']} | {r['ok_msgs_per_s']} | {_cell(r['p50_ms'])} | {_cell(r['p95_ms'])} | "
                     f"{_cell(r['p99_ms'])} | {r['errors']} ({_cell(r['error_rate'])}) | "
                     f"{r['conversations_completed']} | {_cell(r.get('load_average'))} | {_cell(times, 'x')} |")
    return "\n".join(lines)


def memory_table(results: List[dict]) -> str:
    """Markdown table of peak RSS (MiB) per process, per bot and user count."""
    names: List[str] = []
    for r in results:
        names += [n for n in r.get("peak_rss_mib", {}) if n not in names]
    lines = ["| bot | users | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for r in results:
        peaks = r.get("peak_rss_mib", {})
        lines.append(f"| {r['bot']} | {r['users']} | " + " | ".join(_cell(peaks.get(n)) for n in names) + " |")
    return "\n".join(lines)


def verdict(results: List[dict]) -> List[str]:
    """Each target of the issue, met or missed and by how much."""
    by = {(r["bot"], r["users"]): r for r in results}
    lines = []
    top = by.get(("assistant", 50))
    if top:
        lines.append(f"errors at 50 users: {top['errors']} -> {'met' if top['errors'] == 0 else 'MISSED'}")
    ten = by.get(("assistant", 10))
    if ten and ten["p95_ms"] is not None:
        lines.append(f"p95 at 10 users: {ten['p95_ms']} ms (target 300) -> "
                     f"{'met' if ten['p95_ms'] <= 300 else 'MISSED'}")
    if top and by.get(("stock", 50)):
        times = ratio(top, by[("stock", 50)])
        lines.append(f"throughput at 50 users: {_cell(times, 'x')} the stock bot (target 2x) -> "
                     f"{'met' if times is not None and times >= 2 else 'MISSED'}")
    return lines
