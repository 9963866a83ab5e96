"""`make benchmark`: the full assistant against a stock `rasa init` bot, on the same varied texts.

Runs in .venv-bench (Locust, psutil); starts every Rasa-side process with the project's .venv.

1. The stock bot: `rasa init --no-prompt` in var/bench/stock-rasa-<version>/, trained once, cached.
2. Throw-away PostgreSQL databases with thousands of synthetic identities (bench.seed, Rasa venv).
3. The full assistant on one Rasa instance in its production configuration (SQL tracker store on
   PostgreSQL behind RedactingTrackerStore, Redis lock store, the action server, both backends).
4. Setups (BENCH_SETUPS): assistant (cache on), assistant-nocache (NLU_PARSE_CACHE_SIZE=0),
   assistant-nospeedups (RASA_SPEEDUPS=off), stock. The Rasa and action servers restart for each.
5. Levels per setup: 1, 10, 50 users pausing 1-3 s before each message (BENCH_USERS), and capacity:
   BENCH_CAPACITY_USERS users with no pauses. Users hold whole journeys (registration, FAQ,
   certificate complaint) with texts varied per message (bench/phrasing.py); every reply is checked.
6. Per-patch mode (BENCH_PER_PATCH=1): capacity with RASA_SPEEDUPS=-<name> for each speed-up,
   between repeated all-on baselines that give the run-to-run noise.
7. One table, the targets (PASS/GAP) and the per-patch gains, printed and written to
   results/benchmark/latest.{md,json} (with --label NAME: NAME-<time>.{md,json} instead).

Every option is also a BENCH_* variable: see --help.
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
from typing import Dict, List, Optional, Tuple

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
# What each setup sets for the Rasa and action servers (on top of a base without these variables).
SETUP_VARIABLES = ("RASA_SPEEDUPS", "NLU_PARSE_CACHE_SIZE")
SETUP_ENV = {"assistant": {}, "assistant-nocache": {"NLU_PARSE_CACHE_SIZE": "0"},
             "assistant-nospeedups": {"RASA_SPEEDUPS": "off"}, "stock": {}}


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
        self.specs: Dict[str, tuple] = {}
        self.peaks: Dict[str, float] = {}
        self._sampling = threading.Event()

    def start(self, name: str, command: List[str], cwd: Path, env: dict, health_url: str) -> None:
        self.specs[name] = (command, cwd, env, health_url)
        log = (self.workdir / f"{self.name}-{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        self.checks[name] = health_url

    def restart(self, names: List[str], extra_env: Dict[str, str]) -> None:
        """Stop `names` and start them again with the base environment plus `extra_env`."""
        for name in names:
            self._stop_one(self.processes[name])
        for name in names:
            command, cwd, env, health_url = self.specs[name]
            base = {k: v for k, v in env.items() if k not in SETUP_VARIABLES}
            self.start(name, command, cwd, dict(base, **extra_env), health_url)
            self.specs[name] = (command, cwd, env, health_url)   # the base environment stays the base
        self.wait_until_ready(names)

    def log_lines(self, name: str, marker: str) -> List[str]:
        path = self.workdir / f"{self.name}-{name}.log"
        if not path.exists():
            return []
        return [line for line in path.read_text(errors="replace").splitlines() if marker in line]

    def wait_until_ready(self, names: Optional[List[str]] = None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        pending = {name: url for name, url in self.checks.items() if names is None or name in names}
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

    @staticmethod
    def _stop_one(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

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
    env = dict({k: v for k, v in os.environ.items() if k not in SETUP_VARIABLES}, APP_ENV="development",
               DATABASE_URL=backends_url, PYTHONUNBUFFERED="1",
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
                         "--model", str(model)], folder,
                dict({k: v for k, v in os.environ.items() if k not in SETUP_VARIABLES}, PYTHONUNBUFFERED="1"),
                stack.urls["rasa"] + "/status")
    return stack


def warm_up(url: str, text: str, times: int = 3) -> None:
    """The first predictions build TensorFlow's graphs: keep them out of every level."""
    for number in range(times):
        requests.post(f"{url}/webhooks/rest/webhook", json={"sender": f"warmup-{number}", "message": text},
                      timeout=120)


def speedup_line(stack: Stack) -> Optional[str]:
    """What the Rasa server's log says it installed (the last start's line), if it says."""
    lines = stack.log_lines("rasa", "speed-ups installed")
    return lines[-1].split("speed-ups installed:", 1)[-1].strip() if lines else None


def run_level(stack: Stack, setup: str, users: int, mode: str, seconds: Tuple[int, int], args, workdir: Path,
              offsets: Dict[str, int], manifest: Optional[Path], journey_offset: int) -> dict:
    """One level: `users` Locust users for warm-up + duration seconds; `mode` paced or capacity."""
    warmup, duration = seconds
    pause = (args.pause_min, args.pause_max) if mode == "paced" else (0.0, 0.0)
    bot = "stock" if setup == "stock" else "assistant"
    tag = f"{setup.replace(':', '_')}-{mode}-{users}"
    samples = workdir / f"{tag}.jsonl"
    samples.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_BOT=bot, BENCH_SAMPLES=str(samples), BENCH_PAUSE_MIN=str(pause[0]),
               BENCH_PAUSE_MAX=str(pause[1]), BENCH_WORKER_OFFSET=str(offsets["workers"]),
               BENCH_PERSON_OFFSET=str(offsets["persons"]), BENCH_SEED=str(args.seed),
               BENCH_JOURNEY_OFFSET=str(journey_offset), BENCH_IDENTITIES=str(args.identities),
               BENCH_CERTIFICATE_URL=stack.urls.get("certificate", ""))
    env.pop("BENCH_MANIFEST", None)
    if manifest:
        env["BENCH_MANIFEST"] = str(manifest)
    command = [str(BENCH_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{warmup + duration + 2}s",
               "--host", stack.urls["rasa"], "--only-summary", "--stop-timeout", "3", "--loglevel", "WARNING"]
    print(f"{time.strftime('%H:%M:%S')} {setup}: {mode}, {users} users, {warmup} s warm-up + {duration} s ...",
          flush=True)
    profiler = None
    stack.start_sampling()
    launched = time.time()
    with (workdir / f"locust-{tag}.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if args.profile and setup == "assistant" and mode == "capacity":
                time.sleep(warmup)
                profiler = start_profiler(stack, workdir, args.profile, users)
            locust.wait()
        finally:
            if locust.poll() is None:
                locust.terminate()
    peaks = stack.stop_sampling()
    if profiler:
        for process in profiler:
            process.wait()
    window_start = launched + warmup
    read = stats.read_samples(samples) if samples.exists() else []
    figures = stats.summarize(read, window_start, window_start + duration)
    # What the bot said instead, for the first few problems (the seed's synthetic identities only).
    figures["wrong_replies"] = [{key: sample.get(key) for key in ("error", "step", "sent", "reply")}
                                for sample in read if not sample["ok"]][:8]
    by_step: Dict[str, int] = {}
    for sample in read:
        if not sample["ok"] and window_start <= sample["t"] < window_start + duration:
            key = f"{sample.get('step')}: {str(sample.get('error')).split(':')[0]}"
            by_step[key] = by_step.get(key, 0) + 1
    figures["problems_by_step"] = dict(sorted(by_step.items(), key=lambda item: -item[1]))
    used = Path(str(samples) + ".used.json")
    if used.exists():
        offsets.update(json.loads(used.read_text()))
    return dict(figures, setup=setup, bot=bot, users=users, mode=mode, peak_rss_mib=peaks,
                load_average=round(os.getloadavg()[0], 2), duration_s=duration, warmup_s=warmup,
                pause_s=list(pause), speedups=speedup_line(stack) if bot == "assistant" else None)


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


def report(results: List[dict], args, started: str, loads: Dict[str, List[float]]) -> Tuple[str, dict]:
    checks = stats.targets(results)
    gains = stats.patch_gains(results) if any(r["setup"].startswith("patch:") for r in results) else None
    texts = sum(r.get("distinct_texts") or 0 for r in results)
    lines = [f"# Load benchmark {started}", "",
             f"Rasa {rasa_version()}, {psutil.cpu_count()} CPUs; load average (1/5/15 min) at the start "
             f"{'/'.join(str(x) for x in loads['start'])}, at the end {'/'.join(str(x) for x in loads['end'])}, "
             f"per level in the last column. Paced levels: {args.warmup} s warm-up (not counted) + {args.duration} s "
             f"measured, users pausing {args.pause_min:g}-{args.pause_max:g} s before every message; capacity: "
             f"{args.capacity_users} users, no pauses, {args.warmup} s + {args.duration} s.",
             "Users hold whole journeys (health-worker registration to the QR ticket, FAQ visit with chit-chat, "
             "certificate name complaint with OTP to the download) with every text drawn from bench/phrasing.py "
             f"(typos, informal spellings, casing, fillers; seed {args.seed}); the stock bot gets the same texts. "
             f"{texts} distinct texts over all levels (counted per level).",
             "Assistant: one Rasa server, SQL tracker store (PostgreSQL) behind RedactingTrackerStore, Redis lock "
             "store, action server, both backends on PostgreSQL. Stock: `rasa init` as generated.", "",
             "msgs/s: replies that are not errors, per second. errors: HTTP errors, no reply, the bot's generic "
             "error text. misunderstood: the bot's fallback, or an ordinary reply that is not the one the journey "
             "expects (counted apart; ends the journey like an error). The stock bot cannot understand Indonesian: only "
             "HTTP errors and non-JSON replies count for it. Rasa RSS: the Rasa server's process tree, peak.", "",
             stats.results_table(results), "", "Targets (" + stats.TARGETS + "):", "",
             stats.targets_table(checks), ""]
    if gains:
        noise = "–" if gains["noise"] is None else f"{gains['noise'] * 100:.1f}%"
        lines += [f"Per-patch (capacity, {args.capacity_users} users, {args.patch_warmup} s + {args.patch_duration} s "
                  f"each, RASA_SPEEDUPS=-name): all-on baseline runs {gains['baseline_runs']} msgs/s, mean "
                  f"{gains['baseline_mean']}, noise (max - min) / mean = "
                  f"{noise}.",
                  "", stats.patch_table(gains), ""]
    lines += ["Peak RSS (MiB, process and its children):", "", stats.memory_table(results), ""]
    problems = [(r["setup"], level, w) for r in results for level in [stats.level_name(r)]
                for w in r.get("wrong_replies", [])[:3]]
    if problems:
        lines += ["First problems per level (sent -> reply):", ""]
        lines += [f"- {setup}, {level}: {w['error']} at {w['step']}: {w['sent']!r} -> {str(w.get('reply'))[:120]!r}"
                  for setup, level, w in problems[:30]]
    return "\n".join(lines) + "\n", {"targets": checks, "patch_gains": gains}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default=_env("BENCH_SETUPS", ",".join(stats.SETUPS)),
                        help="assistant, assistant-nocache, assistant-nospeedups, stock (BENCH_SETUPS)")
    parser.add_argument("--users", default=_env("BENCH_USERS", "1,10,50"), help="paced levels (BENCH_USERS)")
    parser.add_argument("--capacity-users", type=int, default=int(_env("BENCH_CAPACITY_USERS", "10")),
                        help="users of the capacity level, no pauses; 0: no capacity level")
    parser.add_argument("--duration", type=int, default=int(_env("BENCH_DURATION", "20")))
    parser.add_argument("--warmup", type=int, default=int(_env("BENCH_WARMUP", "5")))
    parser.add_argument("--pause-min", type=float, default=float(_env("BENCH_PAUSE_MIN", "1")))
    parser.add_argument("--pause-max", type=float, default=float(_env("BENCH_PAUSE_MAX", "3")))
    parser.add_argument("--per-patch", type=int, default=int(_env("BENCH_PER_PATCH", "1")),
                        help="1: capacity with RASA_SPEEDUPS=-<name> for each speed-up vs the all-on baseline")
    parser.add_argument("--patches", default=_env("BENCH_PATCHES", ""),
                        help="comma list of speed-up names for the per-patch mode (default: all of SPEEDUPS)")
    parser.add_argument("--patch-sets", default=_env("BENCH_PATCH_SETS", ""),
                        help="';'-separated RASA_SPEEDUPS lists each installed alone in the per-patch mode (e.g. "
                             "'action_validation,graph_plans'): the gain of all the others together")
    parser.add_argument("--patch-duration", type=int, default=int(_env("BENCH_PATCH_DURATION", "15")))
    parser.add_argument("--patch-warmup", type=int, default=int(_env("BENCH_PATCH_WARMUP", "4")))
    parser.add_argument("--baselines", type=int, default=int(_env("BENCH_BASELINES", "4")),
                        help="all-on baseline runs spread over the per-patch mode (the noise estimate)")
    parser.add_argument("--seed", type=int, default=int(_env("BENCH_SEED", "1")), help="seed of the texts")
    parser.add_argument("--identities", type=int, default=int(_env("BENCH_IDENTITIES", "4000")))
    parser.add_argument("--model", type=Path, default=Path(_env("BENCH_MODEL", str(ROOT / "models" / "assistant.tar.gz"))))
    parser.add_argument("--profile", type=int, default=int(_env("BENCH_PROFILE", "0")),
                        help="seconds of py-spy sampling of rasa and the action server during the assistant's "
                             "capacity level (0: off)")
    parser.add_argument("--stores", choices=("production", "embedded"), default=_env("BENCH_STORES", "production"),
                        help="the assistant's Rasa stores: PostgreSQL tracker + Redis lock (production), or in memory "
                             "as in `make run` and the stock bot (embedded); the backends use PostgreSQL either way")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away databases and the run folder")
    parser.add_argument("--label", default=_env("BENCH_LABEL", "benchmark"),
                        help="results file name: <label>-<time>.{md,json}; the default label writes latest.*")
    return parser.parse_args(argv)


def speedup_names() -> List[str]:
    """The names in SPEEDUPS (rasa_speedups/__init__.py; before the move, rasa_extensions/__init__.py),
    read by the Rasa venv with nothing installed."""
    code = ("import os\nos.environ['RASA_SPEEDUPS'] = 'off'\ntry:\n    from rasa_speedups import SPEEDUPS\n"
            "except ImportError:\n    from rasa_extensions import SPEEDUPS\nprint(','.join(SPEEDUPS))")
    out = subprocess.run([str(RASA_BIN / "python"), "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    return out.split(",")


def patch_plan(names: List[str], baselines: int) -> List[str]:
    """Baselines spread evenly among the patch runs: B, p..., B, p..., B."""
    if baselines <= 0:
        return [f"-{name}" for name in names]
    if not names:
        return ["baseline"] * baselines
    plan, groups = ["baseline"], max(1, baselines - 1)
    size = -(-len(names) // groups)
    for start in range(0, len(names), size):
        plan += [f"-{name}" for name in names[start:start + size]] + ["baseline"]
    while plan.count("baseline") < baselines:
        plan.append("baseline")
    return plan


def _stop_on_sigterm() -> None:
    """`kill <pid>` (or a CI timeout) still stops the started processes and drops the databases:
    SIGTERM becomes SystemExit, so the `finally` blocks run. (Background jobs of a shell ignore SIGINT.)"""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def levels_of(args) -> List[Tuple[str, int]]:
    levels = [("paced", int(n)) for n in args.users.split(",") if n.strip()]
    return levels + ([("capacity", args.capacity_users)] if args.capacity_users > 0 else [])


def main(argv=None) -> None:
    _stop_on_sigterm()
    args = parse_args(argv)
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = [s for s in setups if s not in stats.SETUPS]
    if unknown:
        raise SystemExit(f"unknown setup(s) {unknown}; known: {', '.join(stats.SETUPS)}")
    assistant_setups = [s for s in setups if s != "stock"]
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H%MZ")
    loads = {"start": [round(x, 2) for x in os.getloadavg()]}
    prefix = f"bench_{os.getpid()}"
    workdir = CACHE / f"run-{started}"
    workdir.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: List[dict] = []
    stock_folder = stock_bot() if "stock" in setups else None
    levels = levels_of(args)
    seeded = False

    def show(result: dict) -> None:
        print(f"  {result['ok_msgs_per_s']} msgs/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms,"
              f" p99 {result['p99_ms']} ms, {result['errors']} errors, {result['misunderstood']} misunderstood "
              f"{result['error_kinds'] or ''}, rasa {stats.rasa_rss(result)} MiB, load {result['load_average']}",
              flush=True)

    try:
        if assistant_setups or args.per_patch:
            if not args.model.exists():
                raise SystemExit(f"no trained model at {args.model}: run `make train` first")
            manifest = workdir / "manifest.json"
            subprocess.run([str(RASA_BIN / "python"), "-m", "bench.seed", "create", "--prefix", prefix,
                            "--count", str(args.identities), "--manifest", str(manifest)], cwd=ROOT, check=True)
            seeded = True
            stack = assistant_stack(workdir, prefix, args.model, args.stores)
            offsets = {"workers": 0, "persons": 0}
            try:
                stack.wait_until_ready()
                current: Optional[Dict[str, str]] = {}
                for setup in assistant_setups:
                    if SETUP_ENV[setup] != current:
                        stack.restart(["actions", "rasa"], SETUP_ENV[setup])
                        current = SETUP_ENV[setup]
                    warm_up(stack.urls["rasa"], "halo")
                    for number, (mode, users) in enumerate(levels):
                        result = run_level(stack, setup, users, mode, (args.warmup, args.duration), args, workdir,
                                           offsets, manifest, journey_offset=number * 100_000)
                        results.append(result)
                        show(result)
                if args.per_patch:
                    names = [n.strip() for n in args.patches.split(",") if n.strip()] or speedup_names()
                    names = [] if names == ["none"] else names
                    sets = [f"={value.strip()}" for value in args.patch_sets.split(";") if value.strip()]
                    for run_number, item in enumerate(patch_plan(names, args.baselines) + sets
                                                      + (["baseline"] if sets else [])):
                        # "-name" leaves one out; "=value" (a set) is RASA_SPEEDUPS as given.
                        extra = {} if item == "baseline" else {"RASA_SPEEDUPS": item.removeprefix("=")}
                        stack.restart(["actions", "rasa"], extra)   # a fresh server each time, as the baseline
                        current = extra
                        warm_up(stack.urls["rasa"], "halo")
                        result = run_level(stack, f"patch:{item}", args.capacity_users or 10, "capacity",
                                           (args.patch_warmup, args.patch_duration), args, workdir, offsets,
                                           manifest, journey_offset=len(levels) * 100_000)
                        results.append(result)
                        show(result)
            finally:
                stack.stop()
        if stock_folder:
            stack = stock_stack(workdir, stock_folder)
            offsets = {"workers": 0, "persons": 0}
            try:
                stack.wait_until_ready()
                warm_up(stack.urls["rasa"], "hello")
                for number, (mode, users) in enumerate(levels):
                    result = run_level(stack, "stock", users, mode, (args.warmup, args.duration), args, workdir,
                                       offsets, None, journey_offset=number * 100_000)
                    results.append(result)
                    show(result)
            finally:
                stack.stop()
    finally:
        if seeded and not args.keep:
            subprocess.run([str(RASA_BIN / "python"), "-m", "bench.seed", "drop", "--prefix", prefix], cwd=ROOT)
    loads["end"] = [round(x, 2) for x in os.getloadavg()]
    text, extra = report(results, args, started, loads)
    print("\n" + text)
    document = {"started": started, "load_average": loads, "options": vars(args) | {"model": str(args.model)},
                "results": results, **extra}
    # The default label writes latest.{md,json} only (earlier runs are in git history); another label
    # writes <label>-<time>.{md,json} beside it.
    for name in ["latest"] if args.label == "benchmark" else [f"{args.label}-{started}"]:
        (RESULTS / f"{name}.md").write_text(text)
        (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
