"""Device probes: what Jetson (if any) this is, read from the files L4T leaves on the root filesystem.

Every parser takes a filesystem root, so the same code reads a live Orin (`/`) and the recorded device trees
under `fixtures/devices/` (results from recorded data are SIMULATED, never a measurement of an Orin).
Formats: L4T's own files (`/etc/nv_tegra_release`, the device tree, `/usr/local/cuda/version.json`) and the
container runtime's CSV mount specs; tegrastats lines are parsed in `conformance.device.tegrastats`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from conformance.config.devices import L4T_TABLE, JetPackInfo, load_l4t_table

NV_TEGRA_RELEASE = "etc/nv_tegra_release"
DEVICE_TREE_MODEL = "proc/device-tree/model"
DEVICE_TREE_COMPATIBLE = "proc/device-tree/compatible"
CUDA_VERSION_JSON = "usr/local/cuda/version.json"
MEMINFO = "proc/meminfo"
UNKNOWN = "unknown"

# `# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, DATE: ...`
_RELEASE_LINE = re.compile(r"^#\s*R(?P<major>\d+)\s*\((?P<kind>[^)]*)\),\s*REVISION:\s*(?P<revision>\d+(?:\.\d+)*)")

class DeviceDataError(ValueError):
    """A device file exists but is not in the format L4T writes."""


@dataclass(frozen=True)
class L4TRelease:
    """The L4T release of `/etc/nv_tegra_release`, e.g. R36 REVISION 4.7 -> 36.4.7."""

    major: int
    revision: str
    board: str | None = None

    @property
    def version(self) -> str:
        parts = self.revision.split(".")
        parts += ["0"] * (2 - len(parts))
        return ".".join([str(self.major), *parts])


@dataclass(frozen=True)
class DeviceInfo:
    """What the probes found under `root`; `missing` lists the files that were looked for and absent."""

    root: Path
    model: str | None
    compatible: tuple[str, ...]
    l4t: L4TRelease | None
    jetpack: str
    expected_cuda: str | None
    cuda: str | None
    mem_total_mb: int | None
    release_file_present: bool = False
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def is_jetson(self) -> bool:
        """L4T wrote its release file here (readable or not: a malformed one is for the checks to report)."""
        return self.release_file_present

    @property
    def jetpack_major(self) -> int | None:
        match = re.match(r"(\d+)", self.jetpack)
        return int(match[1]) if match else None

    def why_not_jetson(self) -> str:
        """One line saying which file showed this is no Jetson."""
        where = "" if str(self.root) == "/" else f" under {self.root}"
        model = f"; device-tree model is {self.model!r}" if self.model else f"; /{DEVICE_TREE_MODEL} is missing"
        return f"not a Jetson: /{NV_TEGRA_RELEASE} is missing{where}{model}"


def parse_nv_tegra_release(text: str) -> L4TRelease:
    """Parse the first line of `/etc/nv_tegra_release`."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _RELEASE_LINE.match(first)
    if not match:
        raise DeviceDataError(
            f"nv_tegra_release: expected '# R<major> (release), REVISION: <x.y>, ...', but got {first[:80]!r}")
    board = re.search(r"BOARD:\s*([^,]+)", first)
    return L4TRelease(int(match["major"]), match["revision"], board[1].strip() if board else None)


def parse_device_tree_string(raw: bytes) -> tuple[str, ...]:
    """Device-tree string properties are NUL-terminated, string lists NUL-separated."""
    return tuple(part.decode("utf-8", "replace").strip() for part in raw.split(b"\0") if part.strip())


def parse_cuda_version_json(text: str) -> str:
    """`cuda_nvcc.version` (falling back to `cuda.version`) of `/usr/local/cuda/version.json`, as major.minor."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DeviceDataError(f"cuda version.json: not JSON ({error.msg} at line {error.lineno})") from None
    for key in ("cuda_nvcc", "cuda", "cuda_cudart"):
        entry = data.get(key) if isinstance(data, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("version"), str):
            return ".".join(entry["version"].split(".")[:2])
    raise DeviceDataError("cuda version.json: expected a 'cuda_nvcc' or 'cuda' entry with a 'version' string")


def parse_meminfo_total_mb(text: str) -> int:
    match = re.search(r"^MemTotal:\s+(\d+)\s+kB", text, re.MULTILINE)
    if not match:
        raise DeviceDataError("meminfo: expected a 'MemTotal: <n> kB' line")
    return int(match[1]) // 1024


def parse_mount_spec(text: str) -> tuple[tuple[str, str], ...]:
    """Entries `(kind, path)` of an nvidia-container-runtime CSV mount spec: lines `dev, /dev/nvmap`,
    `lib, /usr/lib/...`, `sym, ...`, `dir, ...`; blank lines and `#` comments are skipped."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        kind, sep, path = (part.strip() for part in line.partition(","))
        if not sep or kind not in ("dev", "lib", "sym", "dir") or not path.startswith("/"):
            raise DeviceDataError(f"mount spec line {number}: expected '<dev|lib|sym|dir>, /absolute/path', but got "
                                  f"{line[:80]!r}")
        entries.append((kind, path))
    return tuple(entries)


def read_mount_specs(root: Path | str, directory: str, names: tuple[str, ...]) -> dict[str, tuple[tuple[str, str], ...] | None]:
    """The CSV mount specs `names` of `directory` under root; None for a file that is absent."""
    specs: dict[str, tuple[tuple[str, str], ...] | None] = {}
    for name in names:
        path = Path(root) / directory.lstrip("/") / name
        specs[name] = parse_mount_spec(path.read_text(errors="replace")) if path.is_file() else None
    return specs


def jetpack_for(release: L4TRelease) -> JetPackInfo | None:
    """The JetPack that ships this L4T release, or None when the table does not know it."""
    return load_l4t_table().get(release.version)


def probe_device(root: Path | str = "/") -> DeviceInfo:
    """Read every device file under `root`; a malformed file becomes a warning, never a wrong guess."""
    root = Path(root)
    missing: list[str] = []
    warnings: list[str] = []

    def read(relative: str) -> bytes | None:
        path = root / relative
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            missing.append("/" + relative)
        except OSError as error:
            warnings.append(f"/{relative}: unreadable ({error.strerror})")
        return None

    l4t = None
    release_raw = read(NV_TEGRA_RELEASE)
    if (raw := release_raw) is not None:
        try:
            l4t = parse_nv_tegra_release(raw.decode("utf-8", "replace"))
        except DeviceDataError as error:
            warnings.append(str(error))
    model_raw = read(DEVICE_TREE_MODEL)
    model = (parse_device_tree_string(model_raw) or (None,))[0] if model_raw is not None else None
    compatible_raw = read(DEVICE_TREE_COMPATIBLE)
    compatible = parse_device_tree_string(compatible_raw) if compatible_raw is not None else ()

    jetpack, expected_cuda = UNKNOWN, None
    if l4t is not None:
        info = jetpack_for(l4t)
        if info is None:
            warnings.append(f"L4T {l4t.version} is not in {L4T_TABLE.name}: JetPack reported as unknown")
        else:
            jetpack, expected_cuda = info.jetpack, info.cuda

    cuda = None
    if (raw := read(CUDA_VERSION_JSON)) is not None:
        try:
            cuda = parse_cuda_version_json(raw.decode("utf-8", "replace"))
        except DeviceDataError as error:
            warnings.append(str(error))

    mem_total_mb = None
    if (raw := read(MEMINFO)) is not None:
        try:
            mem_total_mb = parse_meminfo_total_mb(raw.decode("utf-8", "replace"))
        except DeviceDataError as error:
            warnings.append(str(error))

    return DeviceInfo(root, model, compatible, l4t, jetpack, expected_cuda, cuda, mem_total_mb,
                      release_raw is not None, tuple(missing), tuple(warnings))


# Jetson GPU device nodes: /dev/nvmap plus the GPU node of the JetPack generation (JetPack 6: /dev/nvgpu/igpu0/,
# JetPack 4/5: /dev/nvhost-ctrl-gpu).
JETSON_GPU_NODES = ("dev/nvgpu/igpu0", "dev/nvhost-ctrl-gpu")
JETSON_NVMAP = "dev/nvmap"


def missing_gpu_nodes(root: Path | str = "/") -> list[str]:
    """Jetson GPU device nodes that are absent under `root` (empty when the GPU is visible)."""
    root = Path(root)
    absent = [] if (root / JETSON_NVMAP).exists() else ["/" + JETSON_NVMAP]
    if not any((root / node).exists() for node in JETSON_GPU_NODES):
        absent.append(" or ".join("/" + node for node in JETSON_GPU_NODES))
    return absent
