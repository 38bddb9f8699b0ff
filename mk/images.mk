# Reference images (issue 6): the host-side wheelhouse the generic builds install from, offline.
SETUP_TARGETS += images-wheelhouse

.PHONY: images-wheelhouse images-build images-build-jetson
images-wheelhouse:
	$(PY) -m conformance images wheelhouse

images-build: images-wheelhouse
	images/build.sh --variant generic

images-build-jetson:
	images/build.sh --variant jetson
