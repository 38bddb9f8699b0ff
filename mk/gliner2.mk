# GLiNER2 service (issues 5, 15): two offline models saved through GLiNER2.save_pretrained into build/
# (git-ignored), both a WordPiece tokenizer trained on a few sentences and a BERT encoder with random weights:
# - tiny (2 layers, width 32, ~93k parameters, <1 MB): every functional check;
# - bench (12 layers, width 768: GLiNER2 base's encoder size; ~90M parameters, ~450 MB, ~10 s to build):
#   the throughput benchmark only (test_gliner2_bench.py).
# The file targets keep them idempotent; the builder writes to a temp dir and renames it into place.
SETUP_TARGETS += gliner2-tiny-model gliner2-bench-model
GLINER2_TINY := build/models/gliner2-tiny
GLINER2_BENCH := build/models/gliner2-bench

.PHONY: gliner2-tiny-model gliner2-bench-model gliner2-serve gliner2-bench
gliner2-tiny-model: $(GLINER2_TINY)/model.safetensors
gliner2-bench-model: $(GLINER2_BENCH)/model.safetensors

$(GLINER2_TINY)/model.safetensors: conformance/builders/gliner2_model.py
	HF_HUB_OFFLINE=1 $(PY) -m conformance.builders.gliner2_model $(GLINER2_TINY) --force

$(GLINER2_BENCH)/model.safetensors: conformance/builders/gliner2_model.py
	HF_HUB_OFFLINE=1 $(PY) -m conformance.builders.gliner2_model $(GLINER2_BENCH) --size bench --force

# Serve the tiny model on 127.0.0.1:8012 the seed's way (uvicorn --loop asyncio, MODEL_PRELOAD=0).
gliner2-serve: gliner2-tiny-model
	MODEL_PATH=$(GLINER2_TINY) MODEL_PRELOAD=0 HF_HUB_OFFLINE=1 \
	  $(PY) -m uvicorn app.gliner2_service.main:app --loop asyncio --host 127.0.0.1 --port 8012

# Only the GLiNER2 benchmarks (throughput with the bench-size model, /health p99), figures in reports/.
gliner2-bench: setup
	$(PY) -m pytest conformance/checks/service/test_gliner2_bench.py --benchmark-only \
		--benchmark-columns=min,median,rounds --benchmark-json=reports/benchmarks/gliner2.json $(PYTEST_ARGS)
