# One way to run everything, here and in CI (.ci/run calls `make check`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= flights-demo

.PHONY: install demo test lint types contracts check bench clean evidently-env

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install modelyard with its dev tools

demo: $(STAMP)  ## the main job: train, serve, replay traffic, monitor, retrain, promote, switch
	$(BIN)/modelyard demo $(DEMO_DIR) --force

evidently-env:  ## .venv-evidently: Evidently 0.7.23 + pandas 2.3.3, the drift tests' peer (idempotent)
	PYTHON=$(PYTHON) scripts/evidently-env.sh

test: $(STAMP) evidently-env  ## the test suite; collecting no tests is a failure (pytest exit 5)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)  ## layer and vendor rules (import-linter)
	$(BIN)/lint-imports

check: lint types contracts test  ## every check CI runs

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache

.PHONY: deploy-tools
deploy-tools:  ## promtool for tests/unit/test_deploy.py (Debian's prometheus package; its daemon is left stopped)
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
		&& { systemctl disable --now prometheus >/dev/null 2>&1 || true; }; }
	@promtool --version 2>&1 | head -n 1

.PHONY: browser-tools
browser-tools:  ## chromium for tests/integration/test_report_browser.py (Debian's package, headless)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@chromium --version 2>/dev/null | head -n 1
