"""Stockroom's benchmark: `make bench` (or `python bench/run.py --help`).

Starts Stockroom as deployed — gunicorn (deploy/gunicorn.conf.py) on
PostgreSQL and Redis, DEBUG off, a Celery broker for the emails — on its own
database, loads the data set (bench/seed.py), and drives three workloads with
wrk (bench/workloads.lua):

  W1  anonymous GET /api/v1/products/?page_size=20&page=<1..100>
  W2  a customer's own order detail
  W3  placing a 3-line order

It prints one JSON line per workload and a table. Each line carries the read
cache's hit rate and the CPU per request (ms) of the gunicorn workers, of
PostgreSQL, Redis and RabbitMQ, and of the whole machine (wrk included), read
from /proc while wrk ran. With --reference it also runs the FastAPI +
SQLAlchemy reference from ../shared/perf (its own runner, its own database)
and PostgreSQL's limit (../shared/perf/limit.sh) in the same run, and prints
the ratios.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERF = ROOT.parent / "shared" / "perf"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
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
        LOG_LEVEL="WARNING",  # the per-request log line is part of the cost, but not at INFO spam volume
        RATE_LIMIT_AUTH=unlimited,
        RATE_LIMIT_ORDERS=unlimited,
        RATE_LIMIT_ANON=unlimited,
        RATE_LIMIT_USER=unlimited,
        CELERY_QUEUE=BENCH_QUEUE,
        WEB_CONCURRENCY=str(args.workers),
        GUNICORN_THREADS=str(args.threads),
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


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the gunicorn workers (children of ``server_pid``),
    each service by process name, and the whole machine ("all", idle and
    I/O wait left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"stockroom": 0.0, **{name: 0.0 for name in _PROCESSES.values()}}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if int(fields[1]) == server_pid:  # ppid: a worker
            out["stockroom"] += seconds
        elif comm in _PROCESSES:
            out[_PROCESSES[comm]] += seconds
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    out["all"] = (sum(cpu) - cpu[3] - cpu[4]) / tick
    return out


def run_wrk(workload: str, target: str, data: Path, args: argparse.Namespace, duration: str) -> dict[str, object]:
    result = data / f"{workload}.json"
    result.unlink(missing_ok=True)
    env = {**os.environ, "WORKLOAD": workload, "DATA": str(data), "RESULT": str(result)}
    done = subprocess.run(
        ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", duration, "--timeout", "10s",
         "-s", str(ROOT / "bench" / "workloads.lua"), target],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0 or not result.exists():
        raise SystemExit(f"wrk failed for {workload}:\n{done.stdout}\n{done.stderr}")
    return json.loads(result.read_text())


def bench_stockroom(args: argparse.Namespace) -> list[dict[str, object]]:
    env = stockroom_env(args)
    if not args.keep_database:  # a fresh data set each run, as the reference's runner makes its own
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], capture_output=True)
    sh(sys.executable, "manage.py", "migrate", "--noinput", "-v0", env=env)
    data = Path(tempfile.mkdtemp(prefix="stockroom-bench-"))
    sh(sys.executable, "bench/seed.py", str(data), env=env)
    drop_bench_queue(args.broker)
    log(f"gunicorn: {args.workers} worker(s) × {args.threads} thread(s) on 127.0.0.1:{args.port}")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    target = f"http://127.0.0.1:{args.port}"
    results = []
    try:
        wait_until_up(target + "/healthz")
        for workload in args.workloads:
            if args.warmup != "0":
                run_wrk(workload, target, data, args, args.warmup)
            before, cpu_before = cache_counts(target), cpu_seconds(server.pid)
            result = run_wrk(workload, target, data, args, args.duration)
            after, cpu_after = cache_counts(target), cpu_seconds(server.pid)
            requests = max(1, int(result["requests"]))  # type: ignore[call-overload]
            result["cpu_ms_per_request"] = {
                name: round(1000 * (cpu_after[name] - cpu_before[name]) / requests, 3) for name in cpu_after
            }
            lookups = {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "miss")}
            result.update(label="stockroom", workers=args.workers, threads=args.threads)
            if sum(lookups.values()):
                result.update(cache_hit_rate=round(lookups["hit"] / sum(lookups.values()), 4))
            print(json.dumps(result), flush=True)
            results.append(result)
            time.sleep(2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
        drop_bench_queue(args.broker)
    return results


def bench_reference(args: argparse.Namespace) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The FastAPI reference and PostgreSQL's limit, with their own runners."""
    if not (PERF / "bench.sh").exists():
        log(f"no reference at {PERF}; skipping it")
        return [], []
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
    subprocess.run([str(PERF / "run_peer.sh"), str(args.workers)], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        out = subprocess.run(
            [str(PERF / "bench.sh"), "-l", "reference", "-d", args.duration, "-c", str(args.connections),
             "-w", " ".join(args.workloads), "http://127.0.0.1:8100"],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        subprocess.run([str(PERF / "stop_peer.sh")], env=env, stdout=subprocess.DEVNULL)
    peer = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for line in peer:
        print(json.dumps(line), flush=True)
    limit_out = subprocess.run([str(PERF / "limit.sh")], env=env, capture_output=True, text=True)
    limit = [json.loads(line) for line in limit_out.stdout.splitlines() if line.startswith("{")]
    for line in limit:
        print(json.dumps(line), flush=True)
    return peer, limit


def number(row: dict[str, object], *names: str) -> float:
    for name in names:
        if name in row:
            return float(row[name])  # type: ignore[arg-type]
    return float("nan")


def table(ours: list[dict[str, object]], peer: list[dict[str, object]], limit: list[dict[str, object]]) -> None:
    by = {str(r.get("workload")): r for r in peer}
    lim = {str(r.get("workload")): r for r in limit}
    print(
        "\nworkload  stockroom req/s  p50 ms  p99 ms  non-2xx | reference req/s  p99 ms | ratio | % of PG limit",
        file=sys.stderr,
    )
    for r in ours:
        w = str(r["workload"])
        ref = by.get(w, {})
        ref_rps = number(ref, "rps", "requests_per_sec")
        ratio = number(r, "rps") / ref_rps if ref else float("nan")
        limit_tps = number(lim.get(w, {}), "tps")
        share = 100 * number(r, "rps") / limit_tps if w in lim else float("nan")
        print(
            f"{w:<9} {number(r, 'rps'):>15.0f} {number(r, 'p50_ms'):>7.1f} {number(r, 'p99_ms'):>7.1f} {r['non_2xx']!s:>8} |"
            f" {ref_rps:>15.0f} {number(ref, 'p99_ms'):>7.1f} | {ratio:>5.2f} | {share:>6.1f}",
            file=sys.stderr,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (1 = sync workers)")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--database", default="stockroom_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--warmup", default="3s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3"])
    parser.add_argument("--reference", action="store_true", help="also run ../shared/perf's reference and PG limit")
    parser.add_argument("--keep-database", action="store_true", help="reuse the data set of an earlier run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    ours = bench_stockroom(args)
    peer, limit = bench_reference(args) if args.reference else ([], [])
    table(ours, peer, limit)


if __name__ == "__main__":
    main()
