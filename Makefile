# Orin conformance kit. `make help` lists the targets; the README explains them.
PY  := .venv/bin/python
PIP := .venv/bin/pip
PYTEST_ARGS ?=
# Each area appends its setup step (build the NMS library, tiny models, the wheelhouse) in mk/<area>.mk.
SETUP_TARGETS :=
-include mk/*.mk

.PHONY: help setup venv conformance test bench engine doctor clean

help:
	@echo "make conformance  set up, then run the conformance suite for the detected profile (reports/)"
	@echo "make test         set up, then run the project's own tests and the suite (what CI runs)"
	@echo "make bench        run the benchmarks (kept under reports/benchmarks/runs/), compare with the baseline"
	@echo "make engine       (root) install and start a local Docker engine, build the stand-in bases"
	@echo "make doctor       print what this machine can run and why"
	@echo "make compose-up   bring the reference stack up with docker compose (compose-down stops it)"
	@echo "make setup        virtualenv in .venv, the package with all extras, every generated fixture"

venv: .venv/.installed
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(call retried,$(PIP) install -q --retries 10 --upgrade pip)
	$(call retried,$(PIP) install -q --retries 10 --resume-retries 20 -e '.[all]')
	@touch $@

# A download cut mid-way is retried, not a red run (seen in CI 2026-11-29: the 53 MB playwright wheel stopped at
# 23.6 MB six times in one pip call; pip resumes within a call, a new call opens a new connection).
retried = for attempt in 1 2 3 4; do $(1) && exit 0; \
	echo "pip: attempt $$attempt of 4 failed (network?), retrying in 15 s" >&2; sleep 15; done; exit 1

setup: venv $(SETUP_TARGETS)

# Python may cache bytecode in the suite's runs: without it each pytest subprocess (the self-proofs run ~100)
# recompiles and re-rewrites the assertions of every plugin module, seconds each time.
unexport PYTHONDONTWRITEBYTECODE

# A newcomer's first run certifies the images: the engine and stand-in bases come up first where this may
# (root), else one line names the command to run (the docker checks skip, saying the same).
conformance: setup
	$(PY) -m conformance engine ensure
	$(PY) -m pytest conformance --benchmark-disable --junitxml=reports/conformance.xml $(PYTEST_ARGS)

test: setup
	$(PY) -m conformance engine ensure
	$(PY) -m pytest tests conformance --benchmark-disable --junitxml=reports/tests.xml $(PYTEST_ARGS)

# Every run is kept by pytest-benchmark under reports/benchmarks/runs/ (never overwritten), then compared with
# its key's baseline: exit 1 only on a regression a re-run confirmed (docs/reports.md).
bench: setup
	$(PY) -m conformance bench run -- tests conformance -m benchmark --benchmark-columns=min,median,mean,rounds \
		$(PYTEST_ARGS)
	$(PY) -m conformance bench compare

engine: venv
	$(PY) -m conformance engine up --install

doctor: venv
	$(PY) -m conformance doctor

clean:
	rm -rf build reports/*.xml reports/summary.* .pytest_cache
