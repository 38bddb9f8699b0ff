"""Nothing leaks into an image: no credential in the image config or its history (BuildKit records the build
args every RUN step saw), no key or token file in any layer, even one a later layer deleted (issue 10)."""

from __future__ import annotations

import pytest

from conformance.config.image_rules import load_image_rules
from conformance.docker.images import BuiltImage
from conformance.docker.inspect import docker_json, history
from conformance.docker.layers import layer_files
from conformance.docker.secrets import FIX, config_findings, file_findings

pytestmark = pytest.mark.docker


def test_no_credential_in_image_config_or_history(built_image: BuiltImage, docker_cli: str) -> None:
    rules = load_image_rules().secrets
    inspect = docker_json(docker_cli, "image", "inspect", built_image.tag)[0]
    found = config_findings(inspect, history(docker_cli, built_image.tag), rules)
    assert not found, (f"{built_image.tag} carries credentials: {'; '.join(found[:4])}; expected none in `docker "
                       f"history` or the image config (anyone who pulls the image reads them); fix: {FIX}")


def test_no_key_or_token_file_in_any_layer(built_image: BuiltImage, docker_cli: str) -> None:
    rules = load_image_rules().secrets
    found = file_findings(layer_files(docker_cli, built_image.tag, read=rules.config_files), rules)
    assert not found, (f"{built_image.tag} ships {'; '.join(found[:5])}; expected no key, token or credential "
                       "file in any layer (a file deleted by a later layer is still in the one that added it); "
                       f"fix: {FIX}")
