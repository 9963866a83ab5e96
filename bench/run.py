"""`make benchmark`: the full assistant against a stock `rasa init` bot under the same load.

Runs in .venv-bench (Locust, psutil); starts every Rasa-side process with the project's .venv.

1. The stock bot: `rasa init --no-prompt` in var/bench/stock-rasa-<version>/, trained once, cached.
2. Throw-away PostgreSQL databases with thousands of synthetic identities (bench.seed, Rasa venv).
3. The full assistant on one Rasa instance, by default in its production configuration (`--stores
   embedded`: in memory, as `make run`): SQL tracker store on
   the local PostgreSQL behind RedactingTrackerStore, Redis lock store, the action server and both
   backends on PostgreSQL. The stock bot runs as `rasa init` made it (in-memory stores).
4. For each user count (1, 10, 50), Locust headless for warm-up + duration seconds; simulated users
   hold complete conversations with pauses; every message is checked (HTTP errors AND wrong or
   empty replies count as errors). psutil samples the RSS of every process tree meanwhile.
5. One table (msgs/s, p50/p95/p99, errors, peak RSS, ratio to the stock bot) printed and written
   to results/benchmark/benchmark-<time>.{md,json} (and latest.{md,json}).

Options (also from the environment, BENCH_*): --users, --duration, --warmup, --pause-min/max,
--bots, --identities, --profile SECONDS and --profile-users N (py-spy record of the assistant's Rasa and action
servers during the N-user level, 10 by default).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import stats  # noqa: E402

RASA_BIN = ROOT / ".venv" / "bin"
BENCH_BIN = Path(sys.executable).parent
RESULTS = ROOT / "results" / "benchmark"
CACHE = ROOT / "var" / "bench"
START_TIMEOUT_SECONDS = 300


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rasa_version() -> str:
    return subprocess.run([str(RASA_BIN / "python"), "-c", "import rasa; print(rasa.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def stock_bot() -> Path:
    """The `rasa init` project with its trained model, made once per Rasa version."""
    folder = CACHE / f"stock-rasa-{rasa_version()}"
    if list((folder / "models").glob("*.tar.gz")):
        return folder
    building = folder.with_suffix(".tmp")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    print(f"training the stock bot in {building} (once per Rasa version)", flush=True)
    with (CACHE / "stock-init.log").open("wb") as log:
        subprocess.run([str(RASA_BIN / "rasa"), "init", "--no-prompt", "--init-dir", "."], cwd=building,
                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=True)
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder


class Stack:
    """A set of processes started for one bot, with health checks, logs and RSS sampling."""

    def __init__(self, name: str, workdir: Path):
        self.name, self.workdir = name, workdir
        self.processes: Dict[str, subprocess.Popen] = {}
        self.checks: Dict[str, str] = {}
        self.peaks: Dict[str, float] = {}
        self._sampling = threading.Event()

    def start(self, name: str, command: List[str], cwd: Path, env: dict, health_url: str) -> None:
        log = (self.workdir / f"{self.name}-{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        self.checks[name] = health_url

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        pending = dict(self.checks)
        while pending:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{self.name} {name} exited during start-up; see {self.workdir}")
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        del pending[name]
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: not ready after {START_TIMEOUT_SECONDS} s: {list(pending)}")
            time.sleep(0.5)

    def start_sampling(self, interval: float = 0.5) -> None:
        self.peaks = {name: 0.0 for name in self.processes}
        self._sampling.clear()
        threading.Thread(target=self._sample, args=(interval,), daemon=True).start()

    def stop_sampling(self) -> Dict[str, float]:
        self._sampling.set()
        time.sleep(0.6)
        return {name: round(peak / 2**20, 1) for name, peak in self.peaks.items()}

    def _sample(self, interval: float) -> None:
        while not self._sampling.is_set():
            for name, process in self.processes.items():
                self.peaks[name] = max(self.peaks[name], tree_rss(process.pid))
            time.sleep(interval)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def tree_rss(pid: int) -> float:
    """Resident memory of a process and all its children, in bytes (0 when it is gone)."""
    try:
        root = psutil.Process(pid)
        total = 0
        for process in [root] + root.children(recursive=True):
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def assistant_stack(workdir: Path, prefix: str, model: Path, stores: str = "production") -> Stack:
    ports = {name: free_port() for name in ("registration", "certificate", "actions", "rasa")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    backends_url = f"{_env('BENCH_POSTGRES_URL', 'postgresql://postgres@127.0.0.1:5432/postgres').rsplit('/', 1)[0]}/{prefix}_backends"
    env = dict(os.environ, APP_ENV="development", DATABASE_URL=backends_url, PYTHONUNBUFFERED="1",
               REGISTRATION_URL=urls["registration"], CERTIFICATE_URL=urls["certificate"],
               REGISTRATION_PUBLIC_URL=urls["registration"], CERTIFICATE_PUBLIC_URL=urls["certificate"])
    endpoints = workdir / "endpoints.yml"
    action_endpoint = f'action_endpoint:\n  url: "{urls["actions"]}/webhook"\n'
    if stores == "embedded":
        # As `make run`: conversations and locks in the Rasa server's memory, like the stock bot's.
        endpoints.write_text("# The embedded defaults (endpoints.yml of the repository).\n" + action_endpoint +
                             "tracker_store:\n  type: rasa_extensions.tracker_store.RedactingTrackerStore\n")
    else:
        endpoints.write_text(
            "# The production configuration (README 'Production layout'), on this machine.\n" + action_endpoint +
            "tracker_store:\n  type: rasa_extensions.tracker_store.RedactingTrackerStore\n  inner:\n"
            "    type: rasa_extensions.sql_tracker_store.IncrementalSQLTrackerStore\n    dialect: postgresql\n"
            f"    url: {_env('BENCH_POSTGRES_HOST', '127.0.0.1')}\n    port: {_env('BENCH_POSTGRES_PORT', '5432')}\n"
            f"    db: {prefix}_rasa\n    username: {_env('BENCH_POSTGRES_USER', 'postgres')}\n"
            "lock_store:\n  type: rasa_extensions.lock_store.AtomicRedisLockStore\n"
            f"  url: {_env('BENCH_REDIS_HOST', '127.0.0.1')}\n  port: {_env('BENCH_REDIS_PORT', '6379')}\n"
            f"  db: {_env('BENCH_REDIS_DB', '0')}\n  key_prefix: {prefix}\n")
    stack = Stack("assistant", workdir)
    stack.urls = urls
    for service in ("registration", "certificate"):
        stack.start(service, [str(RASA_BIN / "uvicorn"), "--factory", f"backends.{service}.api:create_app",
                              "--host", "127.0.0.1", "--port", str(ports[service]), "--ws", "none",
                              "--no-access-log"], ROOT, env, urls[service] + "/health")
    stack.start("actions", [str(RASA_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port",
                            str(ports["actions"])], ROOT, env, urls["actions"] + "/health")
    rasa = [str(RASA_BIN / "python"), "-m", "rasa_speedups"]   # the speed-ups RASA_SPEEDUPS chooses, then `rasa run`
    stack.start("rasa", rasa + ["run", "--enable-api", "-i", "127.0.0.1", "--port",
                                str(ports["rasa"]), "--model", str(model), "--endpoints", str(endpoints),
                         "--credentials", str(ROOT / "credentials.yml")], ROOT, env, urls["rasa"] + "/status")
    return stack


def stock_stack(workdir: Path, folder: Path) -> Stack:
    port = free_port()
    stack = Stack("stock", workdir)
    stack.urls = {"rasa": f"http://127.0.0.1:{port}"}
    model = sorted((folder / "models").glob("*.tar.gz"))[-1]
    stack.start("rasa", [str(RASA_BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port),
                         "--model", str(model)], folder, dict(os.environ, PYTHONUNBUFFERED="1"),
                stack.urls["rasa"] + "/status")
    return stack


def warm_up(url: str, text: str, times: int = 3) -> None:
    """The first predictions build TensorFlow's graphs: keep them out of every level."""
    for number in range(times):
        requests.post(f"{url}/webhooks/rest/webhook", json={"sender": f"warmup-{number}", "message": text},
                      timeout=120)


def run_level(stack: Stack, bot: str, users: int, args, workdir: Path, offsets: Dict[str, int],
              manifest: Optional[Path]) -> dict:
    samples = workdir / f"{bot}-{users}-users.jsonl"
    samples.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_BOT=bot, BENCH_SAMPLES=str(samples), BENCH_PAUSE_MIN=str(args.pause_min),
               BENCH_PAUSE_MAX=str(args.pause_max), BENCH_WORKER_OFFSET=str(offsets["workers"]),
               BENCH_PERSON_OFFSET=str(offsets["persons"]),
               BENCH_CERTIFICATE_URL=stack.urls.get("certificate", ""))
    if manifest:
        env["BENCH_MANIFEST"] = str(manifest)
    command = [str(BENCH_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{args.warmup + args.duration + 3}s",
               "--host", stack.urls["rasa"], "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING"]
    print(f"{bot}: {users} users for {args.warmup} s warm-up + {args.duration} s ...", flush=True)
    profiler = None
    stack.start_sampling()
    launched = time.time()
    with (workdir / f"locust-{bot}-{users}.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if args.profile and bot == "assistant" and users == args.profile_users:
                time.sleep(args.warmup)
                profiler = start_profiler(stack, workdir, args.profile, users)
            locust.wait()
        finally:
            if locust.poll() is None:
                locust.terminate()
    peaks = stack.stop_sampling()
    if profiler:
        for process in profiler:
            process.wait()
    window_start = launched + args.warmup
    read = stats.read_samples(samples) if samples.exists() else []
    figures = stats.summarize(read, window_start, window_start + args.duration)
    # What the bot said instead, for the first few wrong replies (the seed's synthetic identities).
    figures["wrong_replies"] = [{key: sample.get(key) for key in ("error", "sent", "reply")}
                                for sample in read if sample.get("reply")][:5]
    used = Path(str(samples) + ".used.json")
    if used.exists():
        offsets.update(json.loads(used.read_text()))
    return dict(figures, bot=bot, users=users, peak_rss_mib=peaks, load_average=round(os.getloadavg()[0], 2),
                duration_s=args.duration, warmup_s=args.warmup, pause_s=[args.pause_min, args.pause_max])


def start_profiler(stack: Stack, workdir: Path, seconds: int, users: int) -> List[subprocess.Popen]:
    """py-spy samples the Rasa server and the action server during one level."""
    started = []
    for name in ("rasa", "actions"):
        output = RESULTS / f"profile-{name}-{users}users.txt"
        started.append(subprocess.Popen([str(BENCH_BIN / "py-spy"), "record", "--pid", str(stack.processes[name].pid),
                                         "--duration", str(seconds), "--rate", "50", "--format", "raw",
                                         "--output", str(output), "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=(workdir / f"py-spy-{name}.log").open("wb")))
    return started


def report(results: List[dict], args, started: str) -> str:
    lines = [f"# Load benchmark {started}", "",
             f"Rasa {rasa_version()}, {psutil.cpu_count()} CPUs; per level {args.warmup} s warm-up (not counted) + "
             f"{args.duration} s measured; pauses {args.pause_min}-{args.pause_max} s before every message.",
             "Assistant: one Rasa instance, SQL tracker store (PostgreSQL) behind RedactingTrackerStore, Redis "
             "lock store, action server, both backends on PostgreSQL. Stock: `rasa init` as generated "
             "(in-memory stores, no action server).", "",
             "msgs/s counts correctly answered messages; errors are HTTP errors and wrong or empty replies; "
             "'x stock' = assistant msgs/s / stock msgs/s at the same user count; load avg = 1-minute load at the "
             "end of the level (other work on the machine shows here).", "",
             stats.results_table(results), "", "Peak RSS (MiB, process and its children) during each level:", "",
             stats.memory_table(results), "", "Targets (" + stats.TARGETS + "):", ""]
    lines += [f"- {line}" for line in stats.verdict(results)]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default=_env("BENCH_USERS", "1,10,50"))
    parser.add_argument("--duration", type=int, default=int(_env("BENCH_DURATION", "60")))
    parser.add_argument("--warmup", type=int, default=int(_env("BENCH_WARMUP", "10")))
    parser.add_argument("--pause-min", type=float, default=float(_env("BENCH_PAUSE_MIN", "1")))
    parser.add_argument("--pause-max", type=float, default=float(_env("BENCH_PAUSE_MAX", "3")))
    parser.add_argument("--bots", default=_env("BENCH_BOTS", "assistant,stock"))
    parser.add_argument("--identities", type=int, default=int(_env("BENCH_IDENTITIES", "3000")))
    parser.add_argument("--model", type=Path, default=Path(_env("BENCH_MODEL", str(ROOT / "models" / "assistant.tar.gz"))))
    parser.add_argument("--profile", type=int, default=int(_env("BENCH_PROFILE", "0")),
                        help="seconds of py-spy sampling of rasa and the action server (0: off)")
    parser.add_argument("--profile-users", type=int, default=int(_env("BENCH_PROFILE_USERS", "10")),
                        help="the user level during which --profile samples")
    parser.add_argument("--stores", choices=("production", "embedded"), default=_env("BENCH_STORES", "production"),
                        help="the assistant's Rasa stores: PostgreSQL tracker + Redis lock (production), or in memory "
                             "as in `make run` and the stock bot (embedded); the backends use PostgreSQL either way")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away databases and the run folder")
    parser.add_argument("--label", default=_env("BENCH_LABEL", "benchmark"),
                        help="results file name: <label>-<time>.{md,json}; only the default label updates latest.*")
    return parser.parse_args(argv)


def _stop_on_sigterm() -> None:
    """`kill <pid>` (or a CI timeout) still stops the started processes and drops the databases:
    SIGTERM becomes SystemExit, so the `finally` blocks run. (Background jobs of a shell ignore SIGINT.)"""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv=None) -> None:
    _stop_on_sigterm()
    args = parse_args(argv)
    levels = [int(n) for n in args.users.split(",")]
    bots = [b.strip() for b in args.bots.split(",")]
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H%MZ")
    prefix = f"bench_{os.getpid()}"
    workdir = CACHE / f"run-{started}"
    workdir.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: List[dict] = []
    stock_folder = stock_bot() if "stock" in bots else None
    try:
        for bot in bots:
            manifest = None
            if bot == "assistant":
                if not args.model.exists():
                    raise SystemExit(f"no trained model at {args.model}: run `make train` first")
                manifest = workdir / "manifest.json"
                subprocess.run([str(RASA_BIN / "python"), "-m", "bench.seed", "create", "--prefix", prefix,
                                "--count", str(args.identities), "--manifest", str(manifest)], cwd=ROOT, check=True)
                stack = assistant_stack(workdir, prefix, args.model, args.stores)
            else:
                stack = stock_stack(workdir, stock_folder)
            try:
                stack.wait_until_ready()
                warm_up(stack.urls["rasa"], "halo" if bot == "assistant" else "hello")
                offsets = {"workers": 0, "persons": 0}
                for users in levels:
                    result = run_level(stack, bot, users, args, workdir, offsets, manifest)
                    results.append(result)
                    print(f"  {result['ok_msgs_per_s']} msgs/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms,"
                          f" p99 {result['p99_ms']} ms, {result['errors']} errors {result['error_kinds'] or ''},"
                          f" load {result['load_average']}", flush=True)
            finally:
                stack.stop()
    finally:
        if "assistant" in bots and not args.keep:
            subprocess.run([str(RASA_BIN / "python"), "-m", "bench.seed", "drop", "--prefix", prefix], cwd=ROOT)
    text = report(results, args, started)
    print("\n" + text)
    for name in [f"{args.label}-{started}"] + (["latest"] if args.label == "benchmark" else []):
        (RESULTS / f"{name}.md").write_text(text)
        (RESULTS / f"{name}.json").write_text(json.dumps({"started": started, "results": results}, indent=2))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
