# nms_cpp (issues 3, 11, 15): the release library next to the binding, its ASan+UBSan build, the known-bad
# variants of the self-proofs and the benchmarks' floor probe, all into git-ignored paths (nms_cpp/*.so,
# nms_cpp/build/).
SETUP_TARGETS += nms-lib
.PHONY: nms-lib nms-bench
nms-lib:
	$(MAKE) -C nms_cpp all

# Only the NMS benchmarks (the merger against its fair peers, the floor, scaling): docs/nms.md.
nms-bench: setup
	mkdir -p reports/benchmarks
	$(PY) -m pytest conformance/checks/nms/test_nms_benchmarks.py -m benchmark --benchmark-only \
		--benchmark-columns=min,median,rounds --benchmark-json=reports/benchmarks/nms.json $(PYTEST_ARGS)
