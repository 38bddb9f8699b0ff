"""Which JetPack and CUDA ship with each L4T release (`fixtures/devices/l4t_jetpack.yaml`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from conformance import FIXTURES_DIR
from conformance.config import Model, load

L4T_TABLE = FIXTURES_DIR / "devices" / "l4t_jetpack.yaml"


class JetPackInfo(Model):
    jetpack: str
    cuda: str


class L4TTable(Model):
    releases: dict[str, JetPackInfo]


@lru_cache(maxsize=4)
def load_l4t_table(path: Path = L4T_TABLE) -> dict[str, JetPackInfo]:
    """L4T version ("36.4.7") -> JetPack and CUDA; raises ConfigError naming file and key."""
    return dict(load(path, L4TTable).releases)
