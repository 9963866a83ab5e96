"""Benchmark of campaign sending: recipients/s for an invitation campaign through the task queue.

    .venv/bin/python -m scripts.benchmark_notifications [--recipients 100000] [--workers 1,4] [--threads 8]

For each worker count: a fresh PostgreSQL database with the registration service's target list
(N unbooked health workers), the invitation run (cohort read page by page from the registration
service over HTTP, ledger rows claimed, ids queued on RabbitMQ), N Dramatiq worker processes
(limits in Redis, the ledger in PostgreSQL), a fake Graph API on loopback that accepts every
message and reports a `sent` status for each (in webhooks of 100, through the queue, as the
WhatsApp channel does). Meta's throughput limit is set out of the way (1,000,000/s) to measure the
machinery; in production the number's limit (80/s by default) is what bounds a campaign.

Prints: time to queue the cohort, time until every row is sent (first send to last), recipients/s.
Needs RabbitMQ (:5672), Redis (:6379) and PostgreSQL (:5432) as on this machine and in CI.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import uuid

import uvicorn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backends.notifications import domain  # noqa: E402
from backends.shared.clock import today_wib  # noqa: E402
from tests.service.test_notification_queue import QueueStack  # noqa: E402


def serve(app) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                                           access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}"


def database() -> tuple:
    import psycopg2

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"vaksinbot_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    return admin, name, f"{admin_url.rsplit('/', 1)[0]}/{name}"


def run(recipients: int, workers: int, threads: int) -> dict:
    admin, name, url = database()
    stack = QueueStack(url, serve, targets=recipients, messages_per_second=1_000_000)
    try:
        for worker in range(1, workers + 1):
            stack.start_worker(worker, threads=threads)
        time.sleep(3)  # the workers import and connect
        started = time.monotonic()
        stack.sender().send(domain.choose_cohort("invitation", today_wib()))
        queued = time.monotonic() - started
        counts = stack.wait_until_settled(3600)
        done = time.monotonic()
        times = sorted(record["at"] for record in stack.graph.accepted)
        sending = (times[-1] - times[0]) if len(times) > 1 else 0.0
        return {"workers": workers, "recipients": recipients, "sent": counts.get("sent", 0),
                "duplicates": len(stack.graph.duplicates()), "queue_seconds": queued,
                "total_seconds": done - started, "send_seconds": sending,
                "per_second": recipients / (done - started)}
    finally:
        stack.close()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", default="1,4", help="comma-separated worker counts")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    args = parser.parse_args()
    print(f"campaign benchmark: {args.recipients:,} recipients, {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f} at start", flush=True)
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        result = run(args.recipients, workers, args.threads)
        results.append(result)
        print(f"{workers} worker(s) x {args.threads} threads: queued in {result['queue_seconds']:.1f} s, all sent "
              f"after {result['total_seconds']:.1f} s -> {result['per_second']:.0f} recipients/s "
              f"(sent {result['sent']:,}, duplicates {result['duplicates']}, load average "
              f"{os.getloadavg()[0]:.1f})", flush=True)
    if len(results) > 1:
        print(f"speed-up {results[-1]['workers']} vs {results[0]['workers']} worker(s): "
              f"{results[-1]['per_second'] / results[0]['per_second']:.2f}x")
    return 0 if all(r["sent"] == r["recipients"] and not r["duplicates"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
