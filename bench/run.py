"""Stockroom's benchmark: `make bench` (or `python bench/run.py --help`).

Starts Stockroom as deployed — gunicorn (`gunicorn config.wsgi`, gunicorn.conf.py) on
PostgreSQL and Redis, DEBUG off, a Celery broker for the emails, LOG_LEVEL=INFO
with its line per request written to a file (--server-log), metrics on — on
its own database, loads the data set (bench/seed.py), and drives three workloads with
wrk (bench/workloads.lua):

  W1  anonymous GET /api/v1/products/?page_size=20&page=<1..100>
  W2  a customer's own order detail
  W3  placing a 3-line order

Each measurement is a warm-up wrk run (--warmup) then the measured one
(--duration), and a 2 s pause. It prints one JSON line per measurement and a
table. Each line carries the read cache's hit rate and "cpu_ms_per_request":
the CPU per request (ms) of the server's processes (key "stockroom": every
descendant of gunicorn's master, i.e. its workers, the master itself left
out), of PostgreSQL, Redis and RabbitMQ ("postgres", "redis", "rabbitmq", by
process name) and of the whole machine, wrk included ("all"), read from /proc
while wrk ran.

With --reference, the FastAPI + SQLAlchemy reference in ../shared/perf is
measured in the same run, interleaved with Stockroom: it is started with its
run_peer.sh (same number of workers, database perf_peer) and loaded once
through its API (bench_helper.py setup), and both servers stay up. For each
workload, --rounds rounds (default 2) measure Stockroom then the reference in
odd rounds, the reference then Stockroom in even ones (ABBA for 2 rounds),
both driven by bench/workloads.lua, so that the machine's drift (±20 % over
minutes) hits both sides alike. The reference's lines have label "reference"
and the key "reference" (every descendant of uvicorn's master, i.e. its
workers, the master left out) in place of "stockroom" in cpu_ms_per_request;
every line carries its round. Then PostgreSQL's limit (../shared/perf/limit.sh,
its JSON lines) and one summary line per workload:

  {"workload", "summary": true, "rounds", "stockroom_rps", "reference_rps",
   "ratio" (mean Stockroom req/s / mean reference req/s), "round_ratios" (the
   same ratio for each round's pair), "stockroom_p50_ms", "stockroom_p99_ms",
   "reference_p50_ms", "reference_p99_ms", "stockroom_non_2xx",
   "reference_non_2xx", "limit_tps", "pct_of_limit" (Stockroom's req/s as %
   of the limit's tps), "cpu_ms_per_request": {"stockroom": {...},
   "reference": {...}}}

req/s, latencies and CPU per request are means over the rounds, non-2xx sums.
Without --reference Stockroom is measured once per workload (--rounds unused).
"""

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
PERF = ROOT.parent / "shared" / "perf"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# The reference's scripts reach PostgreSQL through these (run_peer.sh, limit.sh).
PERF_ENV = {"PGHOST": "127.0.0.1", "PGUSER": "postgres"}
REFERENCE = "http://127.0.0.1:8100"  # run_peer.sh's default address
# The emails W3 queues go to a queue of the benchmark's own (no worker runs),
# emptied before and after each run so that runs do not differ by what the
# broker holds.
BENCH_QUEUE = "stockroom-bench"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def sh(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def stockroom_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "EMAIL_"))}
    unlimited = "1000000/min"
    env.update(
        DATABASE_URL=f"{PG}/{args.database}",
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.broker,
        DEBUG="false",
        SECRET_KEY="bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        STATIC_MANIFEST="false",
        LOG_LEVEL=args.log_level,  # as deployed: INFO writes one line per request
        RATE_LIMIT_AUTH=unlimited,
        RATE_LIMIT_ORDERS=unlimited,
        RATE_LIMIT_ANON=unlimited,
        RATE_LIMIT_USER=unlimited,
        CELERY_QUEUE=BENCH_QUEUE,
        WEB_CONCURRENCY=str(args.workers),
        GUNICORN_THREADS=str(args.threads),
        GUNICORN_WORKER_CLASS=args.worker_class,
        **({"DATABASE_POOL_MAX": str(args.pool_max)} if args.pool_max else {}),
        BIND=f"127.0.0.1:{args.port}",
    )
    return env


def drop_bench_queue(broker: str) -> None:
    from kombu import Connection, Queue

    with Connection(broker, connect_timeout=5) as connection:
        Queue(BENCH_QUEUE, channel=connection.default_channel).delete()


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def cache_counts(target: str) -> dict[str, float]:
    """The read cache's lookups so far by result, from /metrics (all workers)."""
    counts: dict[str, float] = {}
    with urllib.request.urlopen(target + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("stockroom_cache_requests_total{"):
                labels, _, value = line.rpartition(" ")
                counts[labels.split('result="')[1].split('"')[0]] = float(value)
    return counts


# CPU time by process name, for CPU per request: what each part of the stack
# (the web workers, PostgreSQL, Redis, RabbitMQ) spent while wrk ran.
_PROCESSES = {"postgres": "postgres", "redis-server": "redis", "beam.smp": "rabbitmq"}


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    name: str
    cpu: float  # seconds so far, user + system


def processes() -> list[Process]:
    """Every process on the machine, read from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        found.append(
            Process(
                pid=int(stat.parent.name),
                ppid=int(fields[1]),
                name=text[text.index("(") + 1 : text.rindex(")")],
                cpu=(int(fields[11]) + int(fields[12])) / tick,  # utime + stime
            )
        )
    return found


def cpu_seconds(server_pid: int, label: str) -> dict[str, float]:
    """CPU seconds so far: the server's workers (under ``label``: every
    descendant of ``server_pid``, the master itself left out), each service by
    process name, and the whole machine ("all", idle and I/O wait left out)."""
    out = {label: 0.0, **{name: 0.0 for name in _PROCESSES.values()}}
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for process in processes():
        own[process.pid] = process.cpu
        children.setdefault(process.ppid, []).append(process.pid)
        if process.name in _PROCESSES:
            out[_PROCESSES[process.name]] += process.cpu
    pending = list(children.get(server_pid, []))
    while pending:
        pid = pending.pop()
        out[label] += own[pid]
        pending.extend(children.get(pid, []))
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    out["all"] = (sum(cpu) - cpu[3] - cpu[4]) / os.sysconf("SC_CLK_TCK")
    return out


@dataclass
class Server:
    """A server under test: its label ("stockroom" or "reference"), address,
    data files (written by bench/seed.py or bench_helper.py setup), master
    process, and what its JSON lines carry besides."""

    label: str
    target: str
    data: Path
    pid: int
    details: dict[str, object] = field(default_factory=dict)
    cache_metrics: bool = False  # /metrics counts the read cache's lookups (Stockroom's)


def run_wrk(workload: str, server: Server, args: argparse.Namespace, duration: str) -> dict[str, object]:
    result = server.data / f"{workload}.json"
    result.unlink(missing_ok=True)
    env = {**os.environ, "WORKLOAD": workload, "DATA": str(server.data), "RESULT": str(result)}
    done = subprocess.run(
        ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", duration, "--timeout", "10s",
         "-s", str(ROOT / "bench" / "workloads.lua"), server.target],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0 or not result.exists():
        raise SystemExit(f"wrk failed for {workload} on {server.label}:\n{done.stdout}\n{done.stderr}")
    return json.loads(result.read_text())


def measure(server: Server, workload: str, args: argparse.Namespace, **extra: object) -> dict[str, object]:
    """One measurement: the warm-up, the measured wrk run with the CPU (and
    cache lookups) read around it, its JSON line printed, then a 2 s pause."""
    if args.warmup != "0":
        run_wrk(workload, server, args, args.warmup)
    before = cache_counts(server.target) if server.cache_metrics else {}
    cpu_before = cpu_seconds(server.pid, server.label)
    result = run_wrk(workload, server, args, args.duration)
    after = cache_counts(server.target) if server.cache_metrics else {}
    cpu_after = cpu_seconds(server.pid, server.label)
    requests = max(1, int(result["requests"]))  # type: ignore[call-overload]
    result["cpu_ms_per_request"] = {
        name: round(1000 * (cpu_after[name] - cpu_before[name]) / requests, 3) for name in cpu_after
    }
    lookups = {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "miss")}
    result.update(label=server.label, **extra, **server.details)
    if sum(lookups.values()):
        result.update(cache_hit_rate=round(lookups["hit"] / sum(lookups.values()), 4))
    print(json.dumps(result), flush=True)
    time.sleep(2)
    return result


@contextmanager
def stockroom(args: argparse.Namespace) -> Iterator[Server]:
    """Stockroom on a fresh data set, under gunicorn, until the block ends."""
    env = stockroom_env(args)
    if not args.keep_database:  # a fresh data set each run, as the reference's runner makes its own
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], capture_output=True)
    sh(sys.executable, "manage.py", "migrate", "--noinput", "-v0", env=env)
    data = Path(tempfile.mkdtemp(prefix="stockroom-bench-"))
    sh(sys.executable, "bench/seed.py", str(data), env=env)
    drop_bench_queue(args.broker)
    log(f"gunicorn: {args.workers} {args.worker_class} worker(s) on 127.0.0.1:{args.port}")
    # The request lines go to a file, as a container runtime would take them
    # from the process: each is written and paid for, none is thrown away.
    server_log = open(args.server_log or data / "server.log", "a")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi"],  # from ROOT: it reads ./gunicorn.conf.py
        cwd=ROOT, env=env, stdout=server_log, stderr=server_log,
    )  # fmt: skip
    target = f"http://127.0.0.1:{args.port}"
    try:
        wait_until_up(target + "/healthz")
        details = {
            "workers": args.workers, "worker_class": args.worker_class, "threads": args.threads,
            "log_level": args.log_level,
        }  # fmt: skip
        yield Server("stockroom", target, data, server.pid, details, cache_metrics=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        server_log.close()
        shutil.rmtree(data, ignore_errors=True)
        drop_bench_queue(args.broker)


@contextmanager
def reference(args: argparse.Namespace) -> Iterator[Server]:
    """The FastAPI reference, started by its run_peer.sh (a fresh database)
    and loaded once through its API, until the block ends."""
    if not (PERF / "run_peer.sh").exists():
        raise SystemExit(f"no reference at {PERF}")
    env = {**os.environ, **PERF_ENV}
    data = Path(tempfile.mkdtemp(prefix="reference-bench-"))
    try:
        log(f"reference: uvicorn, {args.workers} worker(s) on {REFERENCE}")
        started = subprocess.run(
            [str(PERF / "run_peer.sh"), str(args.workers)], env=env, check=True, stdout=subprocess.PIPE, text=True
        )
        pid = int(Path(started.stdout.split()[-1]).read_text())  # it prints its PID file: uvicorn's master
        subprocess.run(["python3", str(PERF / "bench_helper.py"), "setup", REFERENCE, str(data)], env=env, check=True)
        yield Server("reference", REFERENCE, data, pid, {"workers": args.workers})
    finally:
        subprocess.run([str(PERF / "stop_peer.sh")], env=env, stdout=subprocess.DEVNULL)
        shutil.rmtree(data, ignore_errors=True)


def pg_limit(args: argparse.Namespace) -> list[dict[str, object]]:
    """PostgreSQL's limit (../shared/perf/limit.sh) for the chosen workloads; its JSON lines printed."""
    env = {**os.environ, **PERF_ENV, "LIMIT_WORKLOADS": " ".join(args.workloads)}
    out = subprocess.run([str(PERF / "limit.sh")], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        log(f"limit.sh failed:\n{out.stderr}")
    limit = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for line in limit:
        print(json.dumps(line), flush=True)
    return limit


def number(row: dict[str, object], name: str) -> float:
    return float(row[name]) if name in row else float("nan")  # type: ignore[arg-type]


def not_as_deployed(args: argparse.Namespace) -> None:
    """Numbers taken below INFO are not what an operator gets: say so under the table."""
    if args.log_level.upper() != "INFO":
        print(
            f"NOT AS DEPLOYED: Stockroom ran at LOG_LEVEL={args.log_level}, without its line per request",
            file=sys.stderr,
        )


def bench_alone(args: argparse.Namespace) -> None:
    """Stockroom alone: one measurement per workload, and the table."""
    with stockroom(args) as server:
        ours = [measure(server, workload, args) for workload in args.workloads]
    print(
        "\nworkload  stockroom req/s  p50 ms  p99 ms  non-2xx | reference req/s  p99 ms | ratio | % of PG limit",
        file=sys.stderr,
    )
    nan = float("nan")
    for r in ours:
        print(
            f"{r['workload']!s:<9} {number(r, 'rps'):>15.0f} {number(r, 'p50_ms'):>7.1f} {number(r, 'p99_ms'):>7.1f}"
            f" {r['non_2xx']!s:>8} | {nan:>15.0f} {nan:>7.1f} | {nan:>5.2f} | {nan:>6.1f}",
            file=sys.stderr,
        )
    not_as_deployed(args)


def divide(a: float, b: float) -> float | None:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else None


def summarise(workload: str, rows: list[dict[str, object]], limit: list[dict[str, object]]) -> dict[str, object]:
    """A workload's rounds in one line: means over the rounds, non-2xx summed."""
    by = {  # in round order, as measured
        label: [r for r in rows if r["workload"] == workload and r["label"] == label]
        for label in ("stockroom", "reference")
    }

    def mean(label: str, name: str, digits: int = 2) -> float:
        return round(statistics.fmean(number(r, name) for r in by[label]), digits)

    def cpu(label: str) -> dict[str, float]:
        per_round = [cast(dict[str, float], r["cpu_ms_per_request"]) for r in by[label]]
        return {k: round(statistics.fmean(c[k] for c in per_round), 3) for k in per_round[0]}

    ours, theirs = mean("stockroom", "rps", 1), mean("reference", "rps", 1)
    ratio = divide(ours, theirs)
    lim = next((r for r in limit if r.get("workload") == workload), {})
    limit_tps = number(lim, "tps") if lim else None
    share = divide(100 * ours, limit_tps) if limit_tps else None
    return {
        "workload": workload,
        "summary": True,
        "rounds": len(by["stockroom"]),
        "stockroom_rps": ours,
        "reference_rps": theirs,
        "ratio": None if ratio is None else round(ratio, 3),
        "round_ratios": [
            None if (x := divide(number(o, "rps"), number(t, "rps"))) is None else round(x, 3)
            for o, t in zip(by["stockroom"], by["reference"], strict=True)
        ],
        "stockroom_p50_ms": mean("stockroom", "p50_ms"),
        "stockroom_p99_ms": mean("stockroom", "p99_ms"),
        "reference_p50_ms": mean("reference", "p50_ms"),
        "reference_p99_ms": mean("reference", "p99_ms"),
        "stockroom_non_2xx": sum(int(r["non_2xx"]) for r in by["stockroom"]),  # type: ignore[call-overload]
        "reference_non_2xx": sum(int(r["non_2xx"]) for r in by["reference"]),  # type: ignore[call-overload]
        "limit_tps": limit_tps,
        "pct_of_limit": None if share is None else round(share, 1),
        "cpu_ms_per_request": {"stockroom": cpu("stockroom"), "reference": cpu("reference")},
    }


def bench_interleaved(args: argparse.Namespace) -> None:
    """Stockroom and the reference, workload by workload, in ABBA order."""
    rows = []
    with reference(args) as theirs, stockroom(args) as ours:
        for workload in args.workloads:
            for round_ in range(1, args.rounds + 1):
                for server in (ours, theirs) if round_ % 2 else (theirs, ours):
                    log(f"{workload} round {round_}: {server.label}")
                    rows.append(measure(server, workload, args, round=round_))
    limit = pg_limit(args)
    summaries = [summarise(workload, rows, limit) for workload in args.workloads]
    for line in summaries:
        print(json.dumps(line), flush=True)

    def show(x: object, spec: str) -> str:
        return format(float("nan") if x is None else x, spec)

    print(
        f"\nreq/s, p50, p99: means over {args.rounds} round(s); non-2xx: sums; ratio: Stockroom's req/s / the reference's"
        "\nworkload  stockroom req/s  p50 ms  p99 ms  non-2xx | reference req/s  p99 ms  non-2xx |"
        " ratio | ratios by round | % of PG limit",
        file=sys.stderr,
    )
    for s in summaries:
        by_round = ", ".join(show(x, ".2f") for x in s["round_ratios"])  # type: ignore[attr-defined]
        print(
            f"{s['workload']!s:<9} {show(s['stockroom_rps'], '>15.0f')} {show(s['stockroom_p50_ms'], '>7.1f')}"
            f" {show(s['stockroom_p99_ms'], '>7.1f')} {s['stockroom_non_2xx']!s:>8} |"
            f" {show(s['reference_rps'], '>15.0f')} {show(s['reference_p99_ms'], '>7.1f')} {s['reference_non_2xx']!s:>8} |"
            f" {show(s['ratio'], '>5.2f')} | {by_round:<15} | {show(s['pct_of_limit'], '>6.1f')}",
            file=sys.stderr,
        )
    not_as_deployed(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gevent", choices=["gevent", "sync", "gthread"])
    parser.add_argument("--pool-max", type=int, help="DATABASE_POOL_MAX: pooled connections per worker (gevent)")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument(
        "--server-log", help="append gunicorn's output (the request log) to this file (default: a temporary file)"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="Stockroom's LOG_LEVEL (default INFO, as deployed: a line per request)"
    )
    parser.add_argument("--database", default="stockroom_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--warmup", default="3s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3"])
    parser.add_argument(
        "--reference", action="store_true", help="also measure ../shared/perf's reference, interleaved, and PG's limit"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="with --reference: rounds per workload, ABBA order (default 2)"
    )
    parser.add_argument("--keep-database", action="store_true", help="reuse the data set of an earlier run")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.reference:
        bench_interleaved(args)
    else:
        bench_alone(args)


if __name__ == "__main__":
    main()
