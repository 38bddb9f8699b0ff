# Tiled detection (issues 4, 15): the project's tiny YOLO-shaped detector (built offline from a fixed seed,
# torch): its float export (*_float.onnx), the same model prepared for the app (uint8 tiles in, the graph
# casts, scales and transposes: app/tiled/prepare_onnx.py), its torch weights, its labels, a known-bad twin
# built from another seed (parity self-test), and a demo video with ground truth.
# Everything lands in build/tiled/ (git-ignored); file targets keep it idempotent, and a change to the graph
# edit re-prepares the models without training them again.
SETUP_TARGETS += tiled-assets
TILED_DIR := build/tiled
TILED_ONNX := $(TILED_DIR)/tiny_yolo_b8.onnx
TILED_BAD_ONNX := $(TILED_DIR)/bad/tiny_yolo_b8_other_seed.onnx

.PHONY: tiled-assets tiled-demo
tiled-assets: $(TILED_ONNX) $(TILED_BAD_ONNX) $(TILED_DIR)/demo.mp4

$(TILED_DIR)/tiny_yolo_b8_float.onnx: conformance/builders/tiny_detector.py
	$(PY) -m conformance.builders.tiny_detector --out $(TILED_ONNX) --labels $(TILED_DIR)/labels.txt

$(TILED_DIR)/bad/tiny_yolo_b8_other_seed_float.onnx: conformance/builders/tiny_detector.py
	$(PY) -m conformance.builders.tiny_detector --out $(TILED_BAD_ONNX) --seed 1 --train-steps 0

$(TILED_DIR)/%.onnx: $(TILED_DIR)/%_float.onnx app/tiled/prepare_onnx.py
	$(PY) -m app.tiled.prepare_onnx $< $@

$(TILED_DIR)/demo.mp4: conformance/builders/scenes.py
	$(PY) -m conformance.builders.scenes --out $@ --frames 90

# The README's demo: detect and track over the generated video.
tiled-demo: tiled-assets
	$(PY) -m app.tiled --input $(TILED_DIR)/demo.mp4 --output $(TILED_DIR)/demo_out.mp4 --enable-tracking

# SAHI for the overhead benchmark only (conformance/checks/tiled/test_tiled_overhead.py), from its own lock, without
# its dependencies (locks/sahi.in says why).
SETUP_TARGETS += tiled-sahi
.PHONY: tiled-sahi
tiled-sahi: .venv/.tiled-sahi
.venv/.tiled-sahi: mk/tiled.mk locks/sahi.txt .venv/.installed
	$(UV) pip install -q --python $(PY) --require-hashes --no-deps -r locks/sahi.txt
	$(PY) -c "import sahi.predict, sahi.models.base"
	@touch $@
