# nms_cpp (issue 3): the release library next to the binding, its ASan+UBSan build and the known-bad
# variants used by tests/test_nms_*.py, all into git-ignored paths (nms_cpp/*.so, nms_cpp/build/).
SETUP_TARGETS += nms-lib
.PHONY: nms-lib
nms-lib:
	$(MAKE) -C nms_cpp all
