# Docker Compose (issue 11): the reference stack on this machine, brought up the way the compose checks do it
# (images of images/ built or reused, inputs laid out for the non-root user, every service waited for).
#   make compose-up [COMPOSE_ARGS="--jetson --engine model_b8_gpu0_fp32.engine"]    make compose-down
COMPOSE_ARGS ?=
.PHONY: compose-up compose-down
compose-up: venv
	$(PY) -m conformance compose up $(COMPOSE_ARGS)

compose-down: venv
	$(PY) -m conformance compose down $(COMPOSE_ARGS)
