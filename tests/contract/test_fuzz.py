"""The contract under fire: schemathesis against the live ``/api/schema/``.

A real gunicorn (tests/contract/conftest.py) serves the schema; schemathesis
generates requests from it for every operation — boundary values, wrong
types, huge integers, NUL bytes, non-ASCII, missing and unknown fields — as
an anonymous client, as a customer and as staff, and checks every answer:
no 5xx, a status code the schema documents, the documented content type,
and a body that matches the documented schema (error envelopes included).
Stateful runs follow links: a product created is ordered, the order read,
cancelled and moved along its status machine.

By default the run is fixed (derandomized) so CI is repeatable. Larger or
random runs (``make fuzz``):

- ``FUZZ_EXAMPLES``: examples per operation and phase (default 20)
- ``FUZZ_SEED``: unset for the fixed run; ``random`` for a fresh seed (printed,
  so a failure can be replayed); or a number
- ``FUZZ_MAX_TIME``: seconds per role; fuzzing and stateful phases repeat until
  it is spent

Every failure found is fixed and kept as a regression test in
test_regressions.py.
"""

import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import SUMMARY, LiveServer

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements.txt)")

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
# Each role and the operations it fuzzes: customers and staff every one; an
# anonymous client those it can use (on the rest it gets the same 401).
ROLES: dict[str, list[str]] = {
    "anonymous": ["--include-tag", "auth", "--include-tag", "products"],
    "customer": [],
    "staff": [],
}
MIN_CASES = 1_000  # in the default run, across every role and operation

# Stateful links (OpenAPI 3 `links`) that schemathesis follows from one
# response to the next request; its own inference adds the id-to-{id} ones.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("post", "/api/v1/products/", "201"): {
        "OrderTheProduct": {
            "operationId": "orders_create",
            "requestBody": {"lines": [{"product_id": "$response.body#/id", "quantity": 1}]},
            "x-schemathesis": {"merge_body": False},  # the whole body, not merged into random lines
        },
        "AdjustItsStock": {
            "operationId": "products_stock_adjustments_create",
            "parameters": {"path.id": "$response.body#/id"},
        },
        "ReadItsLedger": {
            "operationId": "products_stock_movements_list",
            "parameters": {"path.id": "$response.body#/id"},
        },
        "ReadTheProduct": {"operationId": "products_retrieve", "parameters": {"path.id": "$response.body#/id"}},
        "ReplaceTheProduct": {"operationId": "products_update", "parameters": {"path.id": "$response.body#/id"}},
        "EditTheProduct": {"operationId": "products_partial_update", "parameters": {"path.id": "$response.body#/id"}},
        "DeleteTheProduct": {"operationId": "products_destroy", "parameters": {"path.id": "$response.body#/id"}},
    },
    ("post", "/api/v1/orders/", "201"): {
        "ReadTheOrder": {"operationId": "orders_retrieve", "parameters": {"path.id": "$response.body#/id"}},
        "CancelTheOrder": {"operationId": "orders_cancel_create", "parameters": {"path.id": "$response.body#/id"}},
        "MoveTheOrder": {"operationId": "orders_transition_create", "parameters": {"path.id": "$response.body#/id"}},
        "OrderTheSameAgain": {
            "operationId": "orders_create",
            "requestBody": {"lines": [{"product_id": "$response.body#/lines/0/product_id", "quantity": 1}]},
            "x-schemathesis": {"merge_body": False},
        },
    },
    ("post", "/api/v1/orders/{id}/transition/", "200"): {
        "MoveItOn": {"operationId": "orders_transition_create", "parameters": {"path.id": "$response.body#/id"}},
        "CancelIt": {"operationId": "orders_cancel_create", "parameters": {"path.id": "$response.body#/id"}},
    },
    ("post", "/api/v1/coupons/", "201"): {
        "ReadTheCoupon": {"operationId": "coupons_retrieve", "parameters": {"path.id": "$response.body#/id"}},
        "EditTheCoupon": {"operationId": "coupons_partial_update", "parameters": {"path.id": "$response.body#/id"}},
        "DeleteTheCoupon": {"operationId": "coupons_destroy", "parameters": {"path.id": "$response.body#/id"}},
    },
}


def _examples() -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", "20"))


def _seed() -> int | None:
    """None: the fixed, derandomized run."""
    value = os.environ.get("FUZZ_SEED", "").strip().lower()
    if not value:
        return None
    if value == "random":
        return random.SystemRandom().randrange(2**32)
    return int(value)


def _schema_with_links(base_url: str, path: Path) -> Path:
    with urllib.request.urlopen(f"{base_url}/api/schema/?format=json", timeout=30) as response:
        schema = json.load(response)
    for (method, route, status), links in LINKS.items():
        schema["paths"][route][method]["responses"][status]["links"] = links
    path.write_text(json.dumps(schema))
    return path


def _run_schemathesis(
    role: str, server: LiveServer, schema: Path, tmp_path: Path, seed: int | None
) -> tuple[dict[str, Any], str]:
    report = tmp_path / f"schemathesis-{role}.json"
    output = tmp_path / f"schemathesis-{role}.log"
    config = tmp_path / "schemathesis.toml"
    # Stateful scenarios (create → order → cancel) get a budget of their own:
    # each one is a chain of requests, and -n alone leaves them a dozen.
    config.write_text(f"[phases.stateful.generation]\nmax-examples = {2 * _examples()}\n")
    args = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(schema),
        "--url", server.base_url,
        "--checks", ",".join(CHECKS),
        "--max-examples", str(_examples()),
        # One worker: with more, Python 3.11's ast.parse (which Hypothesis calls
        # to describe lambdas) can fail across threads with "AST constructor
        # recursion depth mismatch".
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    args += ["--generation-deterministic"] if seed is None else ["--seed", str(seed), "--generation-database", "none"]
    if max_time := os.environ.get("FUZZ_MAX_TIME"):
        args += ["--max-time", max_time]
    args += ROLES[role]
    if role != "anonymous":
        args += ["--header", f"Authorization: Bearer {server.seed[role]['token']}"]
    with output.open("w") as out:
        # cwd: schemathesis keeps its replay cache in the working directory.
        result = subprocess.run(args, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, timeout=None)
    text = output.read_text()
    assert report.exists(), f"schemathesis ({role}) exited with {result.returncode} and no report:\n{text[-5000:]}"
    return json.loads(report.read_text()), text


def _failures_section(text: str) -> str:
    """The FAILURES and ERRORS sections of schemathesis' output (with the curl
    line that reproduces each failure), without the warnings."""
    start = min((i for i in (text.find("= FAILURES ="), text.find("= ERRORS =")) if i >= 0), default=-1)
    end = text.find("= WARNINGS =")
    section = text[start : end if end > start else None] if start >= 0 else text[-8000:]
    return section[:20000]


def _replay_the_request_line_over_the_servers_limit(server: LiveServer, schema: Path) -> int:
    """Found by the fuzzer (a query string of ~6 KB): gunicorn refuses the
    request line with its own HTML 414 before Django sees it. Only a real
    server shows this, so the regression is replayed here, against the schema
    with schemathesis' own checks."""
    import requests
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    token = server.seed["customer"]["token"]
    response = requests.get(
        f"{server.base_url}/api/v1/coupons/",
        params={"page": "9" * 5000},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    operation = schemathesis.openapi.from_dict(json.loads(schema.read_text()))["/api/v1/coupons/"]["GET"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operation.Case().validate_response(response, checks=checks)
    return response.status_code


@pytest.mark.django_db(transaction=True)
def test_the_live_schema_holds_under_fuzzing_for_every_role(fuzz_server, tmp_path) -> None:
    seed = _seed()
    schema = _schema_with_links(fuzz_server.base_url, tmp_path / "schema.json")
    started = time.monotonic()
    cases = failures = 0
    problems: list[str] = []
    per_role: list[str] = []
    for role in ROLES:
        report, text = _run_schemathesis(role, fuzz_server, schema, tmp_path, seed)
        generated = report["test_cases"]["generated"]
        found = report["test_cases"]["with_failures"] + len(report["errors"])
        cases += generated
        failures += found
        per_role.append(f"{role} {generated}")
        if report["exit_code"] != 0 or found:
            problems.append(f"--- as {role} (schemathesis exit {report['exit_code']}) ---\n{_failures_section(text)}")
    mode = "fixed seed (derandomized)" if seed is None else f"seed {seed}"
    SUMMARY.append(
        f"schemathesis: {cases} cases, {failures} failures ({', '.join(per_role)}; "
        f"{_examples()} examples per operation, {mode}, {time.monotonic() - started:.0f}s)"
    )

    uri_too_long = _replay_the_request_line_over_the_servers_limit(fuzz_server, schema)

    # The server's own account of any 500 (its tracebacks), kept in the failure
    # message: the log lives in a temporary folder that later runs remove.
    server_errors = "\n".join(line for line in fuzz_server.log.read_text().splitlines() if "Traceback" in line)
    assert uri_too_long == 414
    assert not problems, "\n".join(problems) + f"\n\nserver errors:\n{server_errors[-6000:]}"
    assert not server_errors, server_errors[-10000:]
    if seed is None and _examples() >= 20:
        assert cases >= MIN_CASES, f"only {cases} cases were generated"
