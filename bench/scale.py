"""How the product page and the order list behave at scale: `make bench-scale`.

Builds (once) the database ``stockroom_scale`` on PostgreSQL with 100,000
products, 1,000 customers and 1,000,000 orders of one line each, written
straight in SQL (``generate_series``: minutes through the API, seconds
here; the stock ledger of this scratch data is not kept), then times the
reads in-process with the read cache off, so every request runs its SQL:

- W1's request, the anonymous product page (page 1, 50 and 100 of 20);
- the order list of one customer (about 1,000 orders) and of staff (all
  1,000,000): the first page, and a page reached by following the cursor 50
  times, which must cost the same;
- the order detail.

For each: median and p99 in ms over the repetitions, and the queries run.
Then ``EXPLAIN (ANALYZE, BUFFERS)`` of every distinct query, for
docs/PERFORMANCE.md. Run with the benchmark's environment:

    python bench/scale.py [--repeat N] [--explain FILE]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE = "stockroom_scale"
os.environ.update(
    DATABASE_URL=f"{PG}/{DATABASE}",
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="false",
    SECRET_KEY="bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    ALLOWED_HOSTS="testserver,127.0.0.1",
    SECURE_SSL_REDIRECT="false",
    STATIC_MANIFEST="false",
    LOG_LEVEL="WARNING",
    RATE_LIMIT_ANON="1000000/min",
    RATE_LIMIT_USER="1000000/min",
)
for name in ("REDIS_URL", "CELERY_BROKER_URL", "EMAIL_HOST"):
    os.environ.pop(name, None)

N_PRODUCTS, N_CUSTOMERS, N_ORDERS = 100_000, 1_000, 1_000_000

GENERATE = f"""
BEGIN;
INSERT INTO users_user (password, is_superuser, email, username, full_name, is_staff, is_active, date_joined)
SELECT '!', false, 'scale-' || g || '@example.com', 'scale-' || g, '', false, true, now()
FROM generate_series(1, {N_CUSTOMERS}) g;
INSERT INTO users_user (password, is_superuser, email, username, full_name, is_staff, is_active, date_joined)
VALUES ('!', false, 'scale-staff@example.com', 'scale-staff', '', true, true, now());
INSERT INTO inventory_product (sku, name, description, price, stock, is_active, created_at, updated_at)
SELECT 'SCALE-' || g, 'Scale product ' || g, '', (g % 10000) / 100.0 + 1, 1000000, g % 10 <> 0,
       now() - g * interval '1 minute', now()
FROM generate_series(1, {N_PRODUCTS}) g;
INSERT INTO orders_order (customer_id, status, subtotal, discount, total, coupon_id, coupon_code, created_at, updated_at)
SELECT u.id, (ARRAY['pending', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + g % 5], 10, 0, 10, NULL, NULL,
       now() - g * interval '30 seconds', now()
FROM generate_series(1, {N_ORDERS}) g
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users_user WHERE email LIKE 'scale-%@example.com'
      AND NOT is_staff) u ON u.n = g % {N_CUSTOMERS};
INSERT INTO orders_orderline (order_id, position, product_id, sku, name, unit_price, quantity, line_total)
SELECT o.id, 0, p.id, p.sku, p.name, 10, 1, 10
FROM orders_order o JOIN inventory_product p ON p.id = (SELECT min(id) FROM inventory_product) + o.id % {N_PRODUCTS};
COMMIT;
VACUUM ANALYZE;
"""


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", f"{PG}/{database}", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def build() -> None:
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    if int(psql(DATABASE, "SELECT count(*) FROM orders_order")) >= N_ORDERS:
        return
    print(f"[scale] generating {N_PRODUCTS:,} products and {N_ORDERS:,} orders…", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run(["psql", f"{PG}/{DATABASE}", "-v", "ON_ERROR_STOP=1", "-q"], input=GENERATE, text=True, check=True)
    print(f"[scale] generated in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--explain", type=Path, help="write EXPLAIN (ANALYZE, BUFFERS) of each query here")
    args = parser.parse_args()
    build()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import AccessToken

    from users.models import User

    customer = User.objects.filter(email="scale-1@example.com").get()
    staff = User.objects.get(email="scale-staff@example.com")
    client = Client()
    # Request META for Client.get(**extra).
    bearer: dict[User, dict[str, Any]] = {
        u: {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(u)}"} for u in (customer, staff)
    }

    def deep_cursor_url(user: User, hops: int) -> str:
        url = "/api/v1/orders/?page_size=20"
        for _ in range(hops):
            url = client.get(url, **bearer[user]).json()["next"].replace("http://testserver", "")
        return url

    some_order = customer.orders.order_by("-id").values_list("id", flat=True).first()
    cases = [
        ("W1 product page 1", "/api/v1/products/?page_size=20&page=1", {}),
        ("W1 product page 50", "/api/v1/products/?page_size=20&page=50", {}),
        ("W1 product page 100", "/api/v1/products/?page_size=20&page=100", {}),
        ("products by price, page 100", "/api/v1/products/?page_size=20&page=100&ordering=price", {}),
        ("order list, customer, first page", "/api/v1/orders/?page_size=20", bearer[customer]),
        ("order list, customer, after 50 pages", deep_cursor_url(customer, 49), bearer[customer]),
        ("order list, staff, first page", "/api/v1/orders/?page_size=20", bearer[staff]),
        ("order list, staff, after 50 pages", deep_cursor_url(staff, 49), bearer[staff]),
        ("order list, staff, status=paid", "/api/v1/orders/?page_size=20&status=paid", bearer[staff]),
        ("order detail", f"/api/v1/orders/{some_order}/", bearer[customer]),
    ]
    explained: dict[str, str] = {}
    rows = []
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=dummy):
        for label, url, headers in cases:
            for _ in range(3):
                assert client.get(url, **headers).status_code == 200, (label, url)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url, **headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            for query in queries.captured_queries:
                explained.setdefault(query["sql"], label)
            times.sort()
            p99 = times[min(len(times) - 1, round(0.99 * len(times)))]
            rows.append((label, statistics.median(times), p99, len(queries.captured_queries)))
    print(f"{'request':<40} {'median ms':>10} {'p99 ms':>8} {'queries':>8}")
    for label, median, p99, n in rows:
        print(f"{label:<40} {median:>10.1f} {p99:>8.1f} {n:>8}")
    if args.explain:
        with args.explain.open("w") as out, connection.cursor() as cursor:
            for sql, label in explained.items():
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(r[0] for r in cursor.fetchall())
                out.write(f"-- {label}\n{sql}\n{plan}\n\n")
        print(f"[scale] plans in {args.explain}", file=sys.stderr)


if __name__ == "__main__":
    main()
