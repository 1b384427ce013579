# Stockroom: `make run` to try it, `make test` to prove it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: install run test lint format schema bench bench-scale fuzz

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The embedded default: SQLite, in-process cache, eager tasks, console email.
run: install
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# mypy loads the settings (django-stubs): DEBUG=true, as for schema, so no SECRET_KEY is needed.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: install
	DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file schema.yml

# The benchmark (needs PostgreSQL, Redis and RabbitMQ; installs wrk with apt-get when missing).
# BENCH_ARGS="--reference" measures the FastAPI reference in ../shared/perf interleaved with Stockroom (ABBA), and PostgreSQL's limit.
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/run.py $(BENCH_ARGS)

# 100,000 products and 1,000,000 orders on PostgreSQL (database stockroom_scale):
# the product page and the order list timed, and EXPLAIN of their queries.
bench-scale: install
	$(PY) bench/scale.py --explain docs/explain.txt $(BENCH_ARGS)

# The contract fuzzed big and random (tests/contract/test_fuzz.py); the seed is
# printed, and FUZZ_SEED=<seed> replays it. FUZZ_MAX_TIME=<s> runs each role for that long.
fuzz: install
	FUZZ_SEED=$${FUZZ_SEED:-random} FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(PY) -m pytest tests/contract -q
