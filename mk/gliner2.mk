# GLiNER2 service (issue 5): the offline tiny model (tokenizer trained on a few sentences, 2-layer
# BERT encoder, random weights) saved through GLiNER2.save_pretrained into build/ (git-ignored).
# The file target keeps it idempotent; the builder writes to a temp dir and renames it into place.
SETUP_TARGETS += gliner2-tiny-model
GLINER2_TINY := build/models/gliner2-tiny

.PHONY: gliner2-tiny-model gliner2-serve
gliner2-tiny-model: $(GLINER2_TINY)/model.safetensors

$(GLINER2_TINY)/model.safetensors: conformance/builders/gliner2_model.py
	HF_HUB_OFFLINE=1 $(PY) -m conformance.builders.gliner2_model $(GLINER2_TINY) --force

# Serve the tiny model on 127.0.0.1:8012 the seed's way (uvicorn --loop asyncio, MODEL_PRELOAD=0).
gliner2-serve: gliner2-tiny-model
	MODEL_PATH=$(GLINER2_TINY) MODEL_PRELOAD=0 HF_HUB_OFFLINE=1 \
	  $(PY) -m uvicorn app.gliner2_service.main:app --loop asyncio --host 127.0.0.1 --port 8012
