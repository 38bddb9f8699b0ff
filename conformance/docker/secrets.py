"""Credentials that leak into an image: in a Dockerfile's ARG/ENV/LABEL, the image config, its history (where
BuildKit records every build arg a RUN step saw), or a key or token file in any layer.

The patterns are data (fixtures/images/image_rules.yaml, `secrets`); a finding is one short line that shows
where and what, with the secret itself masked.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from typing import Any

from conformance.config.image_rules import SecretRules
from conformance.docker.dockerfile import Setting
from conformance.docker.layers import LayerFile

#: What a finding says to do (BuildKit secret mounts never reach a layer, the history or the config).
FIX = ("pass credentials as a BuildKit secret: `RUN --mount=type=secret,id=pip_index_url "
       "PIP_INDEX_URL=\"$(cat /run/secrets/pip_index_url)\" pip install ...` built with `--secret "
       "id=pip_index_url,src=FILE`; never ARG, ENV or a file COPYed in")


def mask(text: str, rules: SecretRules) -> str:
    """text with the password part of credential URLs replaced by ***."""
    def hide(match: re.Match[str]) -> str:
        scheme_user, _, _ = match[0].rpartition(":")
        return f"{scheme_user}:***@"
    return re.sub(rules.credential_url, hide, text)


def _named_secret(name: str, value: str, rules: SecretRules) -> bool:
    return bool(value) and name not in rules.allowed_names and re.search(rules.secret_names, name) is not None


def setting_findings(settings: Iterable[Setting], rules: SecretRules, where: str) -> list[str]:
    """ARG defaults, ENV and LABEL values of a Dockerfile that carry a credential."""
    found = []
    for setting in settings:
        if re.search(rules.credential_url, setting.value) or _named_secret(setting.name, setting.value, rules):
            found.append(f"{where}:{setting.line} `{setting.keyword} {setting.name}="
                         f"{mask(setting.value, rules)[:60]}`")
    return found


def config_findings(inspect: dict[str, Any], history: Sequence[str], rules: SecretRules) -> list[str]:
    """Credentials in an image's config (Env, Labels, Cmd, Entrypoint) or its history (build args of RUN)."""
    config = inspect.get("Config") or {}
    found = []
    for entry in config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        if re.search(rules.credential_url, value) or _named_secret(name, value, rules):
            found.append(f"config Env {name}={mask(value, rules)[:60]}")
    for name, value in (config.get("Labels") or {}).items():
        if re.search(rules.credential_url, str(value)) or _named_secret(name, str(value), rules):
            found.append(f"config Label {name}={mask(str(value), rules)[:60]}")
    for key in ("Cmd", "Entrypoint"):
        text = " ".join(config.get(key) or [])
        if re.search(rules.credential_url, text):
            found.append(f"config {key} {mask(text, rules)[:80]}")
    for number, created_by in enumerate(history, 1):
        for match in re.finditer(rules.credential_url, created_by):
            found.append(f"history step {number}: {mask(created_by[max(0, match.start() - 30):match.end() + 30], rules)}")
        for name, value in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=(\S+)", created_by.split("/bin/sh -c")[0]):
            if _named_secret(name, value, rules):
                found.append(f"history step {number}: build arg {name}=***")
    return found


def file_findings(files: Iterable[LayerFile], rules: SecretRules) -> list[str]:
    """Key and token files in any layer, and config files (pip.conf ...) that hold a credential."""
    found = []
    for item in files:
        if any(fnmatch.fnmatch(item.path, pattern) for pattern in rules.files):
            found.append(f"layer {item.layer}: {item.path}")
        elif item.content is not None:
            text = item.content.decode(errors="replace")
            secret_setting = any(_named_secret(name.strip(), value.strip(), rules)
                                 for name, value in re.findall(r"^\s*([\w.-]+)\s*[=:]\s*(.+)$", text, re.M))
            if re.search(rules.credential_url, text) or secret_setting:
                found.append(f"layer {item.layer}: {item.path} holds a credential")
    return found
