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
	@echo "make bench        run the benchmarks and save their figures under reports/benchmarks/"
	@echo "make engine       (root) install and start a local Docker engine, build the stand-in bases"
	@echo "make doctor       print what this machine can run and why"
	@echo "make setup        virtualenv in .venv, the package with all extras, every generated fixture"

venv: .venv/.installed
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[all]'
	@touch $@

setup: venv $(SETUP_TARGETS)

conformance: setup
	$(PY) -m pytest conformance --benchmark-disable --junitxml=reports/conformance.xml $(PYTEST_ARGS)

test: setup
	$(PY) -m pytest tests conformance --benchmark-disable --junitxml=reports/tests.xml $(PYTEST_ARGS)

bench: setup
	$(PY) -m pytest tests conformance -m benchmark --benchmark-only --benchmark-columns=min,median,mean,rounds \
		--benchmark-json=reports/benchmarks/latest.json $(PYTEST_ARGS)

engine: venv
	$(PY) -m conformance engine up --install

doctor: venv
	$(PY) -m conformance doctor

clean:
	rm -rf build reports/*.xml reports/summary.* .pytest_cache
