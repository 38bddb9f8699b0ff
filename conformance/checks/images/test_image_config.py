"""What the image config says: the service settings seed 000 found necessary, and no GPU selection baked in
(seed 004). Read from `docker image inspect`, so an image taken as given is held to the same."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.config.image_rules import load_image_rules
from conformance.docker.images import NOT_APPLICABLE, BuiltImage
from conformance.docker.inspect import docker_json

pytestmark = pytest.mark.docker


@pytest.fixture
def image_config(built_image: BuiltImage, docker_cli: str) -> dict[str, Any]:
    return dict(docker_json(docker_cli, "image", "inspect", built_image.tag)[0].get("Config") or {})


def _env(config: dict[str, Any]) -> dict[str, str]:
    return dict(str(entry).partition("=")[::2] for entry in config.get("Env") or [])


def test_service_runs_with_the_seed_settings(built_image: BuiltImage, image_config: dict[str, Any]) -> None:
    spec = built_image.spec
    if not spec.required_env and not spec.required_args:
        pytest.skip(f"{NOT_APPLICABLE}{spec.name} names no required_env or required_args")
    env = _env(image_config)
    wrong = [f"{name}={env.get(name, '(unset)')}" for name, value in spec.required_env.items() if env.get(name) != value]
    command = [*(image_config.get("Entrypoint") or []), *(image_config.get("Cmd") or [])]
    args = list(spec.required_args)
    has_args = any(command[i:i + len(args)] == args for i in range(len(command))) if args else True
    assert not wrong and has_args, (
        f"{built_image.tag} runs `{' '.join(command)[:120]}` with {', '.join(wrong) or 'the env it needs'}; "
        f"expected env {spec.required_env} and `{' '.join(args)}` in its command; fix: `ENV MODEL_PRELOAD=0` and "
        "uvicorn `--loop asyncio` (seed 000 'Uvicorn / Startup Settings': allocator issues at startup on Jetson)")


def test_no_gpu_selection_baked_into_the_image(built_image: BuiltImage, image_config: dict[str, Any]) -> None:
    env = _env(image_config)
    baked = [f"{name}={env[name]}" for name in load_image_rules().forbidden_env if name in env]
    assert not baked, (
        f"{built_image.tag} sets {', '.join(baked)} in its image config, expected no GPU selection baked in: the "
        "same image must run with and without a GPU; fix: drop the ENV, select devices at run time (compose "
        "override, --runtime nvidia) (seed 004 'Made GPU Optional')")
