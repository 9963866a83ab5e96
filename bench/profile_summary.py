"""Where a message's time goes, from a py-spy `--format raw` profile (collapsed stacks).

    .venv-bench/bin/python bench/profile_summary.py results/benchmark/profile-rasa-10users.txt

Each stack is attributed to the first category whose marker appears in it (most specific first);
idle samples (the event loop waiting in select/epoll) are reported apart so that the shares are
of the time the process was busy. Samples of other threads (the tracker and lock stores' I/O
pools, mostly waiting for PostgreSQL and Redis) are counted apart too: the shares are of the
main thread, the one that serves every conversation.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

# (category, markers): the first category with a marker in the stack wins.
CATEGORIES: List[Tuple[str, Tuple[str, ...]]] = [
    # Sanic runs uvloop: a sample whose innermost Python frame is the server's `serve` is the event
    # loop in native code, waiting for sockets (or doing uvloop's own I/O), not Rasa's work.
    ("idle (event loop waiting)", ("select (selectors.py)__leaf", "poll (selectors.py)__leaf",
                                   "serve (sanic/server/runners.py__leaf")),
    ("lock store (Redis)", ("lock_store.py",)),
    ("tracker store retrieve/save (SQL + redaction)", ("tracker_store.py", "redaction.py", "sqlalchemy")),
    ("NLU graph (featurizers, DIET, ResponseSelector)", ("rasa/nlu/", "rasa_extensions/nlu")),
    ("TED policy", ("ted_policy.py",)),
    ("rule / memoization policies", ("rule_policy.py", "memoization.py")),
    ("policy featurization / state creation", ("rasa/core/featurizers", "trackers.py")),
    ("custom action calls (HTTP to the action server)", ("rasa/core/actions/action.py", "aiohttp")),
    ("graph runner / other rasa", ("rasa/engine", "rasa/core")),
    ("sanic / HTTP server", ("sanic",)),
    ("tensorflow (not under a rasa frame)", ("tensorflow",)),
]


def parse(lines: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            counts[stack] += int(count)
    return counts


def categorize(stack: str) -> str:
    leaf = stack.rsplit(";", 1)[-1]
    for category, markers in CATEGORIES:
        for marker in markers:
            if marker.endswith("__leaf"):
                if marker[:-6] in leaf:
                    return category
            elif marker in stack:
                return category
    return "other"


def summary(counts: Counter) -> Dict[str, int]:
    totals: Counter = Counter()
    for stack, count in counts.items():
        totals[categorize(stack)] += count
    return dict(totals.most_common())


def is_worker_thread(stack: str) -> bool:
    return stack.startswith("_bootstrap (threading.py")


def main(path: str) -> None:
    counts = parse(Path(path).read_text(errors="replace").splitlines())
    workers = sum(count for stack, count in counts.items() if is_worker_thread(stack))
    totals = summary(Counter({stack: count for stack, count in counts.items() if not is_worker_thread(stack)}))
    idle = totals.pop("idle (event loop waiting)", 0)
    busy = sum(totals.values()) or 1
    print(f"{path}: main thread {busy + idle} samples, {idle} idle (other threads: {workers}); "
          "shares of the main thread's busy samples:")
    for category, count in totals.items():
        print(f"  {100 * count / busy:5.1f}%  {category}")


if __name__ == "__main__":
    main(sys.argv[1])
