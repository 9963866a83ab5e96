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

TARGET_CAPACITY_X = 4.0            # capacity, cache on, vs the stock bot on the same texts
TARGET_CAPACITY_NOCACHE_X = 2.5    # capacity with NLU_PARSE_CACHE_SIZE=0 vs the stock bot
TARGET_P95_MS = 300                # at 50 users pausing 1-3 s
TARGET_RSS_BYTES = 1.3e9           # Rasa server (process tree) peak
TARGETS = (f"capacity >= {TARGET_CAPACITY_X:g}x stock (varied texts), >= {TARGET_CAPACITY_NOCACHE_X:g}x with the "
           f"parse cache off; p95 <= {TARGET_P95_MS} ms at 50 users pausing 1-3 s; 0 errors; Rasa server RSS <= 1.3 GB")
# The rows of the table, in order: setup name -> what it is.
SETUPS = {
    "assistant": "assistant (cache on)",
    "assistant-nocache": "assistant (cache off)",
    "assistant-nospeedups": "assistant (speed-ups off)",
    "stock": "stock `rasa init` bot",
}


def percentile(values: Sequence[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile (the value below which `fraction` of the samples lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Iterable[dict], window_start: float, window_end: float) -> Dict[str, object]:
    """One level's figures. A sample's `counts` says whether its problem is an error (HTTP error, no
    reply, the bot's error text); other problems are misunderstood texts (fallback, off-script).
    msgs/s counts the replies that are not errors (a misunderstood text still got an answer)."""
    inside = [s for s in samples if window_start <= s["t"] < window_end]
    latencies = [s["ms"] for s in inside]
    errors = [s for s in inside if not s["ok"] and s.get("counts", True)]
    misunderstood = [s for s in inside if not s["ok"] and not s.get("counts", True)]
    seconds = max(window_end - window_start, 1e-9)
    kinds: Dict[str, int] = {}
    for sample in errors + misunderstood:
        kinds[str(sample.get("error"))] = kinds.get(str(sample.get("error")), 0) + 1
    return {
        "messages": len(inside),
        "msgs_per_s": round(len(inside) / seconds, 2),
        "ok_msgs_per_s": round((len(inside) - len(errors)) / seconds, 2),
        "p50_ms": _round(percentile(latencies, 0.50)),
        "p95_ms": _round(percentile(latencies, 0.95)),
        "p99_ms": _round(percentile(latencies, 0.99)),
        "errors": len(errors),
        "misunderstood": len(misunderstood),
        "silent": sum(1 for s in inside if s.get("silent")),
        "error_rate": round(len(errors) / len(inside), 4) if inside else None,
        "error_kinds": dict(sorted(kinds.items(), key=lambda item: -item[1])[:6]),
        "conversations_completed": sum(1 for s in inside if s.get("last_turn") and s["ok"]),
        "distinct_texts": len({s["sent"] for s in inside if s.get("sent")}),
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def read_samples(path) -> List[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ratio(assistant: Dict[str, object], stock: Dict[str, object]) -> Optional[float]:
    """One row's msgs/s divided by the stock bot's at the same level."""
    mine, theirs = assistant.get("ok_msgs_per_s"), stock.get("ok_msgs_per_s")
    if not theirs or mine is None:
        return None
    return round(float(mine) / float(theirs), 2)


def _cell(value: object, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


def level_name(result: dict) -> str:
    if result.get("mode") == "capacity":
        return f"capacity, {result['users']} users"
    return f"{result['users']} users, paced"


def rasa_rss(result: dict) -> Optional[float]:
    return result.get("peak_rss_mib", {}).get("rasa")


def results_table(results: List[dict]) -> str:
    """One markdown table: a row per setup and level, the ratio to the stock bot at the same level."""
    stock = {(r["mode"], r["users"]): r for r in results if r["setup"] == "stock"}
    lines = ["| setup | level | msgs/s | p50 ms | p95 ms | p99 ms | errors | misunderstood | journeys done | "
             "Rasa RSS peak MiB | x stock | load 1m |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = list(SETUPS)
    for r in sorted((r for r in results if r["setup"] in SETUPS),
                    key=lambda r: (order.index(r["setup"]), r["mode"] == "capacity", r["users"])):
        peer = stock.get((r["mode"], r["users"]))
        times = ratio(r, peer) if r["setup"] != "stock" and peer else None
        lines.append(f"| {SETUPS[r['setup']]} | {level_name(r)} | {r['ok_msgs_per_s']} | {_cell(r['p50_ms'])} | "
                     f"{_cell(r['p95_ms'])} | {_cell(r['p99_ms'])} | {r['errors']} | {r.get('misunderstood', 0)} | "
                     f"{r['conversations_completed']} | {_cell(rasa_rss(r))} | {_cell(times, 'x')} | "
                     f"{_cell(r.get('load_average'))} |")
    return "\n".join(lines)


def memory_table(results: List[dict]) -> str:
    """Markdown table of peak RSS (MiB) per process, per setup and level."""
    names: List[str] = []
    for r in results:
        names += [n for n in r.get("peak_rss_mib", {}) if n not in names]
    lines = ["| setup | level | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for r in results:
        if r["setup"] not in SETUPS:
            continue
        peaks = r.get("peak_rss_mib", {})
        lines.append(f"| {SETUPS[r['setup']]} | {level_name(r)} | " + " | ".join(_cell(peaks.get(n)) for n in names) + " |")
    return "\n".join(lines)


def _find(results: List[dict], setup: str, mode: str, users: Optional[int] = None) -> Optional[dict]:
    for r in results:
        if r["setup"] == setup and r["mode"] == mode and (users is None or r["users"] == users):
            return r
    return None


def targets(results: List[dict]) -> List[Dict[str, object]]:
    """Each target of issue 17: what was measured, PASS or GAP (or "not measured")."""
    checks: List[Dict[str, object]] = []

    def add(name: str, measured: Optional[str], passed: Optional[bool]) -> None:
        checks.append({"target": name, "measured": measured or "not measured",
                       "verdict": "not measured" if passed is None else ("PASS" if passed else "GAP")})

    stock_cap = _find(results, "stock", "capacity")
    for setup, goal in (("assistant", TARGET_CAPACITY_X), ("assistant-nocache", TARGET_CAPACITY_NOCACHE_X)):
        mine = _find(results, setup, "capacity")
        times = ratio(mine, stock_cap) if mine and stock_cap else None
        add(f"capacity {SETUPS[setup]} >= {goal:g}x stock",
            None if times is None else f"{times}x ({mine['ok_msgs_per_s']} vs {stock_cap['ok_msgs_per_s']} msgs/s)",
            None if times is None else times >= goal)
    fifty = _find(results, "assistant", "paced", 50)
    add(f"p95 <= {TARGET_P95_MS} ms at 50 users pausing (cache on)",
        None if not fifty or fifty["p95_ms"] is None else f"{fifty['p95_ms']} ms",
        None if not fifty or fifty["p95_ms"] is None else fifty["p95_ms"] <= TARGET_P95_MS)
    mine = [r for r in results if r["setup"] in SETUPS and r["setup"] != "stock"]
    errors = sum(r["errors"] for r in mine)
    add("0 errors (assistant, every setup and level)", f"{errors} errors in {sum(r['messages'] for r in mine)} messages"
        if mine else None, errors == 0 if mine else None)
    peaks = [rasa_rss(r) for r in mine if rasa_rss(r) is not None]
    add("Rasa server RSS <= 1.3 GB (peak)", f"{max(peaks)} MiB ({max(peaks) * 2**20 / 1e9:.2f} GB)" if peaks else None,
        max(peaks) * 2**20 <= TARGET_RSS_BYTES if peaks else None)
    return checks


def targets_table(checks: List[Dict[str, object]]) -> str:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['measured']} | {c['verdict']} |" for c in checks]
    return "\n".join(lines)


def mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def patch_gains(results: List[dict]) -> Dict[str, object]:
    """Per-patch mode: capacity with RASA_SPEEDUPS=-name against the repeated all-on baseline.

    gain = baseline mean / msgs/s without the patch - 1 (how much faster the patch makes it); noise =
    the spread (max - min) of the baseline runs relative to their mean; a gain is "beyond noise" when
    the run without the patch is slower than the slowest baseline run by more than that spread."""
    base = [r["ok_msgs_per_s"] for r in results if r["setup"] == "patch:baseline"]
    centre = mean(base)
    spread = (max(base) - min(base)) if len(base) >= 2 else None
    rows = []
    for r in results:
        if r["setup"].startswith("patch:-"):
            name = r["setup"][len("patch:-"):]
        elif r["setup"].startswith("patch:="):   # a set installed alone: the gain is the rest's, together
            name = f"all but {r['setup'][len('patch:='):] or 'none'}"
        else:
            continue
        without = r["ok_msgs_per_s"]
        gain = round(centre / without - 1, 3) if centre and without else None
        beyond = (None if spread is None or not without else (min(base) - without) > spread)
        rows.append({"name": name, "msgs_per_s_without": without, "gain": gain,
                     "beyond_noise": beyond, "p95_ms": r["p95_ms"], "errors": r["errors"]})
    return {"baseline_runs": base, "baseline_mean": None if centre is None else round(centre, 2),
            "noise": None if spread is None or not centre else round(spread / centre, 3), "patches": rows}


def patch_table(gains: Dict[str, object]) -> str:
    lines = ["| patch left out | msgs/s without it | gain of the patch | beyond noise? | p95 ms | errors |",
             "|---|---|---|---|---|---|"]
    for row in sorted(gains["patches"], key=lambda row: -(row["gain"] if row["gain"] is not None else -9)):
        gain = "–" if row["gain"] is None else f"{row['gain'] * 100:+.1f}%"
        beyond = {True: "yes", False: "no", None: "–"}[row["beyond_noise"]]
        lines.append(f"| {row['name']} | {row['msgs_per_s_without']} | {gain} | {beyond} | {_cell(row['p95_ms'])} | "
                     f"{row['errors']} |")
    return "\n".join(lines)
