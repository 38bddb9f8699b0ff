"""Credentials that leak into an image, found on recorded inputs: Dockerfile settings, an image config and
history as `docker image inspect`/`docker history` give them, layer files; each finding masks the secret."""

from __future__ import annotations

from conformance.config.image_rules import load_image_rules
from conformance.docker.dockerfile import instructions, settings
from conformance.docker.layers import LayerFile
from conformance.docker.secrets import config_findings, file_findings, setting_findings

RULES = load_image_rules().secrets


def test_tokened_index_url_in_an_arg_default_is_found_and_masked() -> None:
    found = setting_findings(settings(instructions(
        "ARG PIP_INDEX_URL=https://ci-bot:s3cr3t@pypi.example.com/simple\nARG PIP_NO_INDEX=0\n"
        "ARG HF_TOKEN=\nENV HF_TOKEN=hf_abc\n")), RULES, "Dockerfile")
    assert len(found) == 2 and "s3cr3t" not in " ".join(found), found
    assert "Dockerfile:1 `ARG PIP_INDEX_URL=https://ci-bot:***@" in found[0] and "HF_TOKEN" in found[1], found


def test_build_args_in_history_and_env_in_config_are_found() -> None:
    inspect = {"Config": {"Env": ["PATH=/usr/bin", "HF_TOKEN=hf_x"], "Labels": {"org.x": "y"}, "Cmd": ["python3"]}}
    history = ["RUN |2 PIP_INDEX_URL=https://u:tok@idx.example/simple PIP_NO_INDEX=0 /bin/sh -c pip install x",
               "RUN |1 API_KEY=abc123 /bin/sh -c echo"]
    found = config_findings(inspect, history, RULES)
    assert any("config Env HF_TOKEN" in f for f in found), found
    assert any(f.startswith("history step 1") and "u:***@" in f for f in found), found
    assert any("build arg API_KEY=***" in f for f in found) and "tok@" not in " ".join(found), found


def test_clean_image_config_and_history_have_no_findings() -> None:
    inspect = {"Config": {"Env": ["PIP_NO_CACHE_DIR=1", "HF_HUB_OFFLINE=1", "TORCH_WHEEL_SHA256=ab"],
                          "Labels": {"org.orin-kit.image": "gliner2"}}}
    history = ["RUN |2 TORCH_WHEEL_URL=file:///wheelhouse/torch.whl PIP_INDEX_URL=https://pypi.example/cu126 "
               "/bin/sh -c pip install x"]
    assert config_findings(inspect, history, RULES) == []


def test_key_files_in_any_layer_and_credentials_in_pip_conf_are_found() -> None:
    files = [LayerFile(3, "/root/.netrc", None), LayerFile(4, "/usr/lib/python3/ok.py", None),
             LayerFile(5, "/etc/pip.conf", b"[global]\nindex-url = https://u:p@idx.example/simple\n"),
             LayerFile(5, "/home/app/.config/pip/pip.conf", b"[global]\nindex-url = https://idx.example/simple\n")]
    assert file_findings(files, RULES) == ["layer 3: /root/.netrc", "layer 5: /etc/pip.conf holds a credential"]
