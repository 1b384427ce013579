"""CPU per request, in one process: ``python bench/inprocess.py W3 [N]``.

Calls Stockroom's WSGI handler directly with prebuilt requests (no HTTP
server, no wrk), N times after a warm-up, against the data set that
``make bench`` left in ``stockroom_bench`` (PostgreSQL, Redis and the broker
real, as in bench/run.py), and prints this process's CPU and its PostgreSQL
backend's CPU per request. Two copies started side by side (say, two
checkouts) compare two versions of the code at the same moment, which is
what this machine's drift allows. W1 misses the cache on the first request
for each of its 100 pages: give it N of 2,000 or more. ``--profile`` prints
pyinstrument's tree instead.
"""

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import PG, stockroom_env  # noqa: E402


def _write(data: bytes) -> None:
    """The WSGI write() that start_response returns: the handler never calls it."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=["W1", "W2", "W3"])
    parser.add_argument("n", type=int, nargs="?", default=500)
    parser.add_argument("--database", default="stockroom_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL (default INFO, as deployed)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.workers, args.threads, args.port, args.worker_class, args.pool_max = 1, 1, 0, "sync", None
    os.environ.update(stockroom_env(args))
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="stockroom-inprocess-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import django

    django.setup()

    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from config.wsgi import application
    from inventory.models import Product
    from orders.models import Order

    customer = Order.objects.filter(customer__email__startswith="bench-customer-").select_related("customer").first()
    if customer is None:
        raise SystemExit(f"no benchmark data in {PG}/{args.database}: run `make bench` first")
    token = str(AccessToken.for_user(customer.customer))
    products = list(Product.objects.filter(sku__startswith="BENCH-").values_list("id", flat=True))
    rng = random.Random(7)

    def environ() -> dict[str, Any]:
        base = {
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8200", "HTTP_HOST": "127.0.0.1:8200",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "HTTP_ACCEPT": "application/json", "QUERY_STRING": "", "wsgi.input": io.BytesIO(b""),
        }  # fmt: skip
        if args.workload == "W1":
            page = f"page_size=20&page={rng.randint(1, 100)}"
            return {**base, "REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/products/", "QUERY_STRING": page}
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if args.workload == "W2":
            return {**base, **auth, "REQUEST_METHOD": "GET", "PATH_INFO": f"/api/v1/orders/{customer.id}/"}
        body = json.dumps({"lines": [{"product_id": p, "quantity": 1} for p in rng.sample(products, 3)]}).encode()
        return {
            **base, **auth, "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/orders/",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        }  # fmt: skip

    def call() -> None:
        statuses: list[str] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            statuses.append(status)
            return _write

        body = application(environ(), start_response)
        b"".join(body)
        body.close()
        if not statuses[0].startswith(("200", "201")):
            raise SystemExit(f"{args.workload}: {statuses[0]}")

    for _ in range(50):
        call()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    if args.profile:
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as profiler:
            for _ in range(args.n):
                call()
        print(profiler.output_text(unicode=True, color=False))
        return
    pg, cpu, wall = backend_cpu(), time.process_time(), time.perf_counter()
    for _ in range(args.n):
        call()
    per = 1000 / args.n
    print(
        json.dumps(
            {
                "workload": args.workload,
                "requests": args.n,
                "python_cpu_ms": round((time.process_time() - cpu) * per, 3),
                "postgres_cpu_ms": round((backend_cpu() - pg) * per, 3),
                "wall_ms": round((time.perf_counter() - wall) * per, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
