# Tiled detection (issue 4): the project's tiny YOLO-shaped detector (built offline from a fixed seed, torch),
# its labels, a known-bad twin built from another seed (parity self-test), and a demo video with ground truth.
# Everything lands in build/tiled/ (git-ignored); file targets keep it idempotent.
SETUP_TARGETS += tiled-assets
TILED_DIR := build/tiled
TILED_ONNX := $(TILED_DIR)/tiny_yolo_b8.onnx

.PHONY: tiled-assets tiled-demo
tiled-assets: $(TILED_ONNX) $(TILED_DIR)/bad/tiny_yolo_b8_other_seed.onnx $(TILED_DIR)/demo.mp4

$(TILED_ONNX): conformance/builders/tiny_detector.py
	$(PY) -m conformance.builders.tiny_detector --out $@ --labels $(TILED_DIR)/labels.txt

$(TILED_DIR)/bad/tiny_yolo_b8_other_seed.onnx: conformance/builders/tiny_detector.py
	$(PY) -m conformance.builders.tiny_detector --out $@ --seed 1 --train-steps 0

$(TILED_DIR)/demo.mp4: conformance/builders/scenes.py
	$(PY) -m conformance.builders.scenes --out $@ --frames 90

# The README's demo: detect and track over the generated video.
tiled-demo: tiled-assets
	$(PY) -m app.tiled --input $(TILED_DIR)/demo.mp4 --output $(TILED_DIR)/demo_out.mp4 --enable-tracking

# SAHI for the overhead benchmark only (conformance/checks/tiled/test_tiled_overhead.py). Installed WITHOUT its deps:
# it requires the GUI opencv-python, which would overwrite the headless cv2 (REFERENCE.md); of its deps it
# only needs shapely at import (the rest, pillow/click/pyyaml/tqdm, are already in the venv).
SETUP_TARGETS += tiled-sahi
.PHONY: tiled-sahi
tiled-sahi: .venv/.tiled-sahi
.venv/.tiled-sahi: mk/tiled.mk
	$(PIP) install -q --no-deps sahi==0.12.8 shapely==2.2.0
	$(PY) -c "import sahi.predict, sahi.models.base"
	@touch $@
