# routesim: every target builds the local virtual environment it needs, so a fresh clone
# needs nothing but Python 3.11 and network access to PyPI.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# one BLAS thread per process: the work is many small arrays, and sweeps run in parallel
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

# The dashboard's browser test drives Debian's chromium through Playwright (which cannot
# download a browser of its own here); `make test` installs it with apt-get when it is missing.
CHROMIUM ?= $(shell command -v chromium || echo /usr/bin/chromium)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run test test-slow lint bench calibrate notebooks clean browser discover sobol results

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/routesim: pyproject.toml
	@echo "installing routesim and its dependencies into $(VENV)/ (about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(BIN)/routesim
	@echo "installing the dev extra (tests, notebooks, EMA Workbench, the dashboard) into $(VENV)/"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

run: $(BIN)/routesim  ## install, then run the default calibrated market into results/runs/
	$(BIN)/routesim $(ARGS)

browser:  ## install Debian's chromium for the browser test, when it is missing
	@test -x "$(CHROMIUM)" || { echo "installing chromium for the dashboard's browser test (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev browser  ## install, then run lint and the test suite (not the slow tests; one worker per core)
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/python -m pytest -n auto -m "not slow" $(ARGS)

test-slow: $(VENV)/.dev  ## the slow and statistical tests only (installs the cluster launchers too)
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster]"
	$(BIN)/python -m pytest -m slow $(ARGS)

lint: $(VENV)/.dev  ## ruff
	$(BIN)/ruff check src tests benchmarks experiments

notebooks: $(VENV)/.dev  ## execute experiments/*.py on their newest sweeps into .ipynb and HTML
	$(BIN)/python experiments/run_notebooks.py $(ARGS)

calibrate: $(VENV)/.dev  ## posterior of the baseline given conf/calibration/targets.yaml (~45 min); rewrites conf/fitted/
	$(BIN)/routesim-calibrate $(ARGS)

results: $(VENV)/.dev  ## run every experiment (and over 30 posterior members), analyse, execute notebooks; writes results/report/ (~45 min)
	$(BIN)/python experiments/make_results.py $(ARGS)

discover: $(VENV)/.dev  ## PRIM: where routing cuts OpenAI's / Anthropic's 2030 revenue by over half (results/discovery/)
	$(BIN)/routesim-discover $(or $(ARGS),population.n_enterprises=2000)

sobol: $(VENV)/.dev  ## Sobol indices of 2030 frontier revenue and spend share (results/sensitivity/)
	$(BIN)/routesim-sensitivity --method sobol $(or $(ARGS),population.n_enterprises=2000)

bench: $(VENV)/.dev  ## speed and memory benchmark (writes benchmarks/out/*.csv)
	$(BIN)/python benchmarks/bench_engine.py $(ARGS)

clean:  ## remove the virtual environment and caches (results/ is kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
