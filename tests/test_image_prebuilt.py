"""An image given with --image: what the kit takes it for (label, --image-kind, --image-spec), the one-line
refusal when it cannot tell, and the certification rule (a check that applies and skipped fails the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import CHECKS_DIR
from conformance.config.images import load_variants
from conformance.docker import prebuilt
from conformance.docker.prebuilt import PrebuiltImageError, describe

SPECS = load_variants()[1]


def _label(value: str | None) -> object:
    return lambda docker, tag, label: value


def test_unlabelled_image_without_a_description_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuilt, "image_label", _label(""))
    with pytest.raises(PrebuiltImageError, match=r"^--image my/app:1: the image has no org.orin-kit.image label; "
                                                 r"say what it is with --image-kind gliner2\|yolo-tiled .*"
                                                 r"--image-spec FILE"):
        describe("docker", "my/app:1", SPECS, "generic")


def test_missing_image_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuilt, "image_label", _label(None))
    with pytest.raises(PrebuiltImageError, match="no such image"):
        describe("docker", "nope:1", SPECS, "generic", kind="gliner2")


def test_kind_label_and_contradiction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prebuilt, "image_label", _label(""))
    given = describe("docker", "my/app:1", SPECS, "generic", kind="yolo-tiled")
    assert given.spec.name == "yolo-tiled" and given.distributions and given.source == "--image-kind", given
    monkeypatch.setattr(prebuilt, "image_label", _label("gliner2"))
    assert describe("docker", "k:1", SPECS, "generic").source.startswith("label"), "the label says what it is"
    with pytest.raises(PrebuiltImageError, match="contradicts its label"):
        describe("docker", "k:1", SPECS, "generic", kind="yolo-tiled")
    with pytest.raises(PrebuiltImageError, match="'nope' .* is not an image of the kit's catalogue"):
        describe("docker", "k:1", SPECS, "generic", kind="nope")


def test_spec_file_describes_a_users_image(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(prebuilt, "image_label", _label(""))
    spec = tmp_path / "image.yaml"
    spec.write_text("name: my-service\nport: 8080\nhas_torch: false\napp_module: my_app.main\n"
                    "distributions: [FastAPI, typing_extensions]\n")
    given = describe("docker", "my/app:1", SPECS, "generic", spec_file=spec)
    assert given.spec.name == "my-service" and given.spec.port == 8080, given
    assert given.distributions == {"fastapi", "typing-extensions"}, given.distributions
    spec.write_text("name: x\nhas_torch: maybe\napp_module: m\n")
    with pytest.raises(PrebuiltImageError, match=r"--image-spec .*image.yaml: has_torch: expected true or false"):
        describe("docker", "my/app:1", SPECS, "generic", spec_file=spec)


@pytest.mark.docker
def test_run_with_an_unlabelled_image_refuses_to_start(run_checks) -> None:
    result = run_checks(str(CHECKS_DIR / "images" / "test_image_onnx.py"), "--image", "orin-kit/base:bookworm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    result.stderr.fnmatch_lines(["*--image orin-kit/base:bookworm: the image has no org.orin-kit.image label; say "
                                 "what it is with --image-kind*"])


@pytest.mark.docker
def test_certification_run_with_a_skipped_applicable_check_is_not_green(run_checks, tmp_path: Path) -> None:
    spec = tmp_path / "image.yaml"
    spec.write_text("name: base\nhas_torch: false\napp_module: json\n")  # no distributions: that check cannot run
    check = CHECKS_DIR / "images" / "test_image_torch.py"
    result = run_checks(f"{check}::test_installed_distributions_are_exactly_the_expected_set",
                        f"{check}::test_torch_is_the_pinned_wheel",
                        "--image", "orin-kit/base:bookworm", "--image-spec", str(spec), "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*NOT CERTIFIED: 1 check(s) that apply to orin-kit/base:bookworm (base, from "
                                 "--image-spec*) did not run*",
                                 "*test_installed_distributions_are_exactly_the_expected_set[[]base[]]: no "
                                 "expected distributions recorded*"])
