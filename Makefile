# Scorecard: `make run` serves the demo, `make test` runs every test. Both start from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_SOURCE := data/demo-source
DB := data/scorecard.duckdb
DEMO_CASES ?= 20000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-slow lint install demo browser-deps pg-deps nginx-deps cluster test-load bench bench-10m clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

$(DB): $(STAMP)
	$(PY) -m core demo --out $(DEMO_SOURCE) --cases $(DEMO_CASES) --seed 42
	$(PY) -m core build --source $(DEMO_SOURCE) --db $(DB)

demo: $(STAMP)
	$(PY) -m core demo --out $(DEMO_SOURCE) --cases $(DEMO_CASES) --seed 42
	$(PY) -m core build --source $(DEMO_SOURCE) --db $(DB)

run: $(DB)
	$(VENV)/bin/streamlit run app.py --server.port 8501 --server.headless true

# Browser tests need Debian's chromium, the local OpenID provider (npm oidc-provider, pinned) and, for the
# replica test, Debian's nginx.
browser-deps: nginx-deps
	@if [ ! -x /usr/bin/chromium ]; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; fi
	@if [ ! -d tests/oidc/node_modules/oidc-provider ]; then npm ci --prefix tests/oidc --no-audit --no-fund --silent; fi

# The state tests run on SQLite and on a throw-away PostgreSQL server (Debian's postgresql package).
pg-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql >/dev/null; fi

nginx-deps:
	@if [ ! -x /usr/sbin/nginx ]; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx-light >/dev/null; fi

# Two replicas behind nginx (sticky sessions) sharing PostgreSQL state and the demo database: README, "Several app servers".
cluster: $(DB) pg-deps nginx-deps
	$(PY) -m deploy.local --replicas 2 --port 8500 --db $(DB)

# The layout's tooling (README, *Architecture*): ruff (lint and format) and the import-linter layer contract.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: $(STAMP) lint browser-deps pg-deps
	SCORECARD_REQUIRE_BROWSER=1 SCORECARD_REQUIRE_POSTGRES=1 $(VENV)/bin/pytest -q -m "not slow" --durations=25

# 20 browser sessions on two replicas for 4 minutes through two rebuilds (README, "Load test"); writes deploy/load-result.json.
test-load: $(STAMP) browser-deps pg-deps
	SCORECARD_REQUIRE_BROWSER=1 SCORECARD_REQUIRE_POSTGRES=1 SCORECARD_LOAD_RESULT=deploy/load-result.json \
		$(VENV)/bin/pytest -q -s -m slow tests/test_load.py

# The long benchmark tests (@pytest.mark.slow, left out of `make test`): the real-shape benchmark at
# 100,000 cases, the scorecard screenshots at ~300 peers when SCORECARD_SCREENSHOT_DB is set (README, Performance),
# and 1,000 more simulated departments (README, Fair numbers at a department's size).
test-slow: $(STAMP) browser-deps
	$(VENV)/bin/pytest -q -m slow tests/test_bench.py tests/test_screenshots_scale.py
	SCORECARD_SLOW=1 $(VENV)/bin/pytest -q -s -m slow tests/test_department_sim.py

# README, Performance: the real shape at 100,000 and 1,000,000 cases; bench-10m generates, builds,
# measures and deletes 10,000,000 cases (about 30 minutes here, and 3 to generate the source; the database
# alone is 12 GB; README, Performance).
bench: $(STAMP)
	$(PY) -m benchmarks --cases 100000 1000000

bench-10m: $(STAMP)
	$(PY) -m benchmarks --cases 10000000 --personas 5 --requests 200 --delete

clean:
	rm -rf $(VENV) $(DEMO_SOURCE) $(DB) tests/oidc/node_modules
