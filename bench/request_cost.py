"""What the request line and the per-request metrics cost the web workers:
``python bench/request_cost.py [W1 W2 W3] [--seconds 20]``.

For each workload it starts ``bench/run.py`` (Stockroom alone, as deployed:
gunicorn, LOG_LEVEL=INFO with the lines written to a file, metrics on; the
data set of an earlier run kept), lets the warm-up pass, and samples every
gunicorn worker with py-spy (200 Hz, without pausing them) while wrk runs.
Each sample is one stack; it counts as

- ``request_line``: in RequestLogMiddleware itself or below it but outside
  the rest of the request (the line's fields, structlog, the write), or in
  the query counter outside the query it counts;
- ``metrics``: in RequestMetricsMiddleware, the series lookup or
  prometheus_client (the read cache's hit counter included).

and prints one JSON line per workload with each share of the workers'
samples (py-spy leaves out samples of a worker idle in its event loop). A
worker that waits for a CPU after waking PostgreSQL or Redis still counts as
running, so the denominator is a little more than its CPU time: the shares
are a floor of the true ones, close to it where a request does not wait
(W1).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from run import processes  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"


def children(pid: int) -> list[int]:
    return [process.pid for process in processes() if process.ppid == pid]


def workers_of(runner: subprocess.Popen[str], count: int, timeout: float = 300) -> list[int]:
    """The gunicorn workers under ``bench/run.py`` once all ``count`` are up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for master in children(runner.pid):
            if "gunicorn" in Path(f"/proc/{master}/cmdline").read_text(errors="replace"):
                workers = children(master)
                if len(workers) == count:
                    return workers
        if runner.poll() is not None:
            raise SystemExit(f"bench/run.py exited with {runner.returncode}")
        time.sleep(0.5)
    raise SystemExit("gunicorn's workers did not come up")


def part(frames: list[str]) -> str | None:
    """Which part of the request a sample is in (None: the rest)."""
    for n, frame in enumerate(frames):
        below = frames[n + 1] if n + 1 < len(frames) else ""
        if frame.startswith("RequestLogMiddleware.__call__ ("):
            if not below.startswith("convert_exception_to_response"):  # not the rest of the request
                return "request_line"
        elif frame.startswith("RequestLogMiddleware.__call__.<locals>.count ("):
            if not below.startswith("CursorWrapper._execute"):  # not the query itself
                return "request_line"
        elif "prometheus" in frame or frame.startswith(("RequestMetricsMiddleware.", "series (")):
            return "metrics"
    return None


def measure(workload: str, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    out = folder / f"{workload}.bench"
    with out.open("w") as log:
        runner = subprocess.Popen(
            [sys.executable, "bench/run.py", "--keep-database", "--workloads", workload, "--workers", str(args.workers),
             "--warmup", "3s", "--duration", f"{args.seconds + 15}s"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        workers = workers_of(runner, args.workers)
        while "gunicorn:" not in out.read_text():  # bench/run.py logs it once the server answers
            time.sleep(0.5)
        time.sleep(3 + 2 + 5)  # the warm-up, its pause, and a few seconds into the measured run
        spy = [str(PY_SPY), "record", "-d", str(args.seconds), "-r", "200", "--nonblocking", "-f", "raw"]
        spies = [
            subprocess.Popen(
                [*spy, "-p", str(pid), "-o", str(folder / f"{workload}.{pid}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in workers
        ]
        for process in spies:
            process.wait()
        runner.wait()
    shares: Counter[str | None] = Counter()
    for pid in workers:
        for line in (folder / f"{workload}.{pid}.txt").read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            shares[part(stack.split(";"))] += int(count)
    total = sum(shares.values())

    def pct(*names: str | None) -> float:
        return round(100 * sum(shares[name] for name in names) / total, 2) if total else float("nan")

    return {
        "workload": workload,
        "samples": total,
        "request_line_pct": pct("request_line"),
        "metrics_pct": pct("metrics"),
        "together_pct": pct("request_line", "metrics"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", default=["W1", "W2", "W3"])
    parser.add_argument("--seconds", type=int, default=20, help="how long py-spy samples each workload")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: make install")
    if os.geteuid() != 0:
        print("py-spy needs to be allowed to read other processes (root, or CAP_SYS_PTRACE)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="stockroom-request-cost-") as folder:
        for workload in args.workloads:
            print(json.dumps(measure(workload, args, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
