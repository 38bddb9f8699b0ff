# Orin conformance kit. `make help` lists the targets; the README explains them.
PY  := .venv/bin/python
PIP := .venv/bin/pip
PYTEST_ARGS ?=
# Each area appends its setup step (build the NMS library, tiny models, the wheelhouse) in mk/<area>.mk.
SETUP_TARGETS :=
-include mk/*.mk

.PHONY: help setup venv lock device-setup conformance test bench engine doctor clean

help:
	@echo "make conformance  set up, then run the conformance suite for the detected profile (reports/)"
	@echo "make test         set up, then run the project's own tests and the suite (what CI runs)"
	@echo "make bench        run the benchmarks (kept under reports/benchmarks/runs/), compare with the baseline"
	@echo "make engine       (root) install and start a local Docker engine, build the stand-in bases"
	@echo "make doctor       print what this machine can run and why"
	@echo "make compose-up   bring the reference stack up with docker compose (compose-down stops it)"
	@echo "make setup        virtualenv in .venv from locks/kit.txt, the package with all extras, every generated fixture"
	@echo "make device-setup on an Orin: the device install alone (locks/device-jetson.txt) in .venv-device"
	@echo "make lock         make the lock files again where their requirements changed (LOCK_ARGS=--upgrade: all)"

# Every package comes from a lock with hashes (locks/; `make lock` makes them): the same commit installs the
# same files on every machine and every day. The venv is made anew from the locks, so nothing unlocked stays;
# uv's cache makes that seconds once a machine has the files.
UV := .venv/bin/uv
# uv reads its own settings: hand it pip's find-links (where the CPU torch wheel may lie) and the system's CAs.
ifneq ($(PIP_FIND_LINKS),)
export UV_FIND_LINKS ?= $(PIP_FIND_LINKS)
endif
export UV_NATIVE_TLS ?= 1

venv: .venv/.installed
.venv/.installed: pyproject.toml locks/uv.txt locks/kit.txt
	rm -rf .venv
	python3 -m venv .venv
	$(call retried,$(PIP) install -q --retries 10 --require-hashes --no-deps -r locks/uv.txt)
	$(call retried,$(UV) pip install -q --python $(PY) --require-hashes --no-deps -r locks/kit.txt)
	$(UV) pip install -q --python $(PY) --no-deps --no-build-isolation -e .
	@touch $@

# Resolve the locks anew where their inputs changed (pyproject.toml's dependencies, images/*/requirements*.txt,
# fixtures/images/wheelhouse.yaml); `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed.
lock: venv
	$(PY) -m conformance lock $(LOCK_ARGS)
	@$(PY) -m conformance lock --check

# The kit on an Orin (JetPack 6, Python 3.10): the device install alone, from its lock, in a venv that still sees
# JetPack's own TensorRT and cuda-python (system site packages). On another machine, the CI host's device lock.
DEVICE_VENV := .venv-device
DEVICE_LOCK := $(if $(filter aarch64,$(shell uname -m)),locks/device-jetson.txt,locks/device.txt)
device-setup:
	python3 -m venv --system-site-packages $(DEVICE_VENV)
	$(call retried,$(DEVICE_VENV)/bin/pip install -q --retries 10 --require-hashes --no-deps -r $(DEVICE_LOCK))
	$(DEVICE_VENV)/bin/pip install -q --no-deps .
	@echo "device-setup: $$(grep -c '^[a-z]' $(DEVICE_LOCK)) packages from $(DEVICE_LOCK) and the kit in $(DEVICE_VENV)" \
		"($$(du -sh $(DEVICE_VENV) | cut -f1)); run: $(DEVICE_VENV)/bin/python -m pytest -p conformance.plugin" \
		"--pyargs conformance.checks -m jetson"

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
