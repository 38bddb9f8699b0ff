"""tegrastats: the parser of its lines, a background sampler, and the summary the memory checks read.

Orin memory is unified (CPU and GPU share LPDDR5), so `RAM used/totalMB` of tegrastats, not NVML, is what a
workload costs. The line format changes between boards and JetPack releases; the parser takes what it knows
and ignores the rest (only `RAM` is required):

- timestamp `07-29-2026 18:00:27` (JetPack 5 and later; absent before);
- `GR3D_FREQ 61%@[918]` (one GPC), `98%@[1300,1300]` (AGX, two GPCs), `0%` (JetPack 6 when idle),
  `10%@1300` (older), `@[1000,1000,1000]` (no load figure, JetPack 7 on Thor);
- temperatures `cpu@54.937C`, `CPU@46.5C`, `cpu@52.968C/52.968C` (JetPack 7: current/limit); `-256C` is an
  absent sensor (e.g. `CV0@-256C`), reported as absent, never as a temperature;
- power rails `VDD_IN 4673mW/4673mW` (current/average) or without units (`POM_5V_IN 3306/3306`).
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from conformance.device.facts import DeviceDataError

_TIMESTAMP = re.compile(r"^(?P<ts>\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\s")
_RAM = re.compile(r"\bRAM (?P<used>\d+)/(?P<total>\d+)MB\b")
_SWAP = re.compile(r"\bSWAP (?P<used>\d+)/(?P<total>\d+)MB\b")
_CPU = re.compile(r"\bCPU \[(?P<cores>[^\]]*)\]")
_GR3D = re.compile(r"\bGR3D_FREQ (?:(?P<load>\d+)%)?(?:@\[?(?P<freq>[\d,]*)\]?)?")
_TEMP = re.compile(r"(?<![\w%])(?P<name>[A-Za-z][\w]*)@(?P<value>-?\d+(?:\.\d+)?)C(?:/-?\d+(?:\.\d+)?C)?(?!\w)")
_RAIL = re.compile(r"(?<!\S)(?P<name>[A-Z][A-Z0-9_]*) (?P<now>\d+)(?:mW)?/(?P<avg>\d+)(?:mW)?(?!\S)")
ABSENT_SENSOR_C = -256.0
_NOT_RAILS = {"RAM", "SWAP"}


@dataclass(frozen=True)
class Sample:
    """One tegrastats line."""

    ram_used_mb: int
    ram_total_mb: int
    timestamp: str | None = None
    swap_used_mb: int | None = None
    cpu_load_percent: tuple[int | None, ...] = ()  # None for a core that is off
    gpu_load_percent: int | None = None
    gpu_freq_mhz: tuple[int, ...] = ()  # one per GPC
    temperatures_c: dict[str, float] = field(default_factory=dict)
    absent_sensors: tuple[str, ...] = ()
    rails_mw: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (current, average)


def parse_line(line: str) -> Sample:
    """One tegrastats line; DeviceDataError when it has no `RAM used/totalMB` field."""
    ram = _RAM.search(line)
    if not ram:
        raise DeviceDataError(f"tegrastats: expected 'RAM <used>/<total>MB', but got {line.strip()[:80]!r}")
    stamp = _TIMESTAMP.match(line)
    swap = _SWAP.search(line)
    cores: tuple[int | None, ...] = ()
    if cpu := _CPU.search(line):
        cores = tuple(int(c.split("%")[0]) if c.split("%")[0].isdigit() else None
                      for c in cpu["cores"].split(","))
    load: int | None = None
    freqs: tuple[int, ...] = ()
    if gr3d := _GR3D.search(line):
        load = int(gr3d["load"]) if gr3d["load"] else None
        freqs = tuple(int(f) for f in (gr3d["freq"] or "").split(",") if f.isdigit())
    temperatures: dict[str, float] = {}
    absent: list[str] = []
    for match in _TEMP.finditer(line):
        value = float(match["value"])
        if value <= ABSENT_SENSOR_C:
            absent.append(match["name"])
        else:
            temperatures[match["name"]] = value
    rails = {m["name"]: (int(m["now"]), int(m["avg"])) for m in _RAIL.finditer(line) if m["name"] not in _NOT_RAILS}
    return Sample(int(ram["used"]), int(ram["total"]), stamp["ts"] if stamp else None,
                  int(swap["used"]) if swap else None, cores, load, freqs, temperatures, tuple(absent), rails)


def parse_lines(lines: Iterable[str]) -> list[Sample]:
    """Every non-blank line; a line that is not tegrastats output is an error naming its number."""
    samples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                samples.append(parse_line(line))
            except DeviceDataError as error:
                raise DeviceDataError(f"line {number}: {error}") from None
    return samples


@dataclass(frozen=True)
class Summary:
    """What a run cost, from the samples taken during it (and the idle ones taken just before it)."""

    samples: int
    ram_total_mb: int
    ram_baseline_mb: float | None  # mean RAM used before the run started
    ram_peak_mb: int
    ram_mean_mb: float
    gpu_load_mean_percent: float | None
    gpu_load_peak_percent: int | None
    rails_mean_mw: dict[str, float]

    @property
    def ram_added_mb(self) -> float:
        """Peak RAM used during the run over the idle baseline before it (the run's own memory)."""
        return self.ram_peak_mb - (self.ram_baseline_mb if self.ram_baseline_mb is not None else 0.0)


def summarise(samples: Sequence[Sample], baseline_samples: int = 0) -> Summary:
    """Peak and mean RAM used, GPU load and mean power per rail of the samples after the first
    `baseline_samples` (those are the idle baseline)."""
    if baseline_samples < 0 or len(samples) <= baseline_samples:
        raise DeviceDataError(f"tegrastats: expected more than {baseline_samples} baseline sample(s) and at least "
                              f"one during the run, found {len(samples)} samples")
    base, run = samples[:baseline_samples], samples[baseline_samples:]
    loads = [s.gpu_load_percent for s in run if s.gpu_load_percent is not None]
    rails: dict[str, list[int]] = {}
    for sample in run:
        for name, (now, _avg) in sample.rails_mw.items():
            rails.setdefault(name, []).append(now)
    return Summary(len(run), run[-1].ram_total_mb,
                   sum(s.ram_used_mb for s in base) / len(base) if base else None,
                   max(s.ram_used_mb for s in run), sum(s.ram_used_mb for s in run) / len(run),
                   sum(loads) / len(loads) if loads else None, max(loads) if loads else None,
                   {name: sum(v) / len(v) for name, v in rails.items()})


class SamplerError(RuntimeError):
    """tegrastats could not be started, or printed nothing."""


class Sampler:
    """tegrastats in the background: `with Sampler() as s: ...; s.mark()`; lines are kept as printed.

    `mark()` records how many lines were taken so far (e.g. the idle baseline before a run starts).
    """

    def __init__(self, command: Sequence[str] = ("tegrastats", "--interval", "200")) -> None:
        self.command = list(command)
        self.lines: list[str] = []
        self.marks: list[int] = []
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Sampler:
        try:
            self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             text=True, bufsize=1)
        except OSError as error:
            raise SamplerError(f"cannot start `{' '.join(self.command)}`: {error.strerror}; expected tegrastats "
                               "(it ships with L4T on every Jetson)") from None
        self._reader = threading.Thread(target=self._read, name="tegrastats", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None  # set by start()
        for line in self._process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        """Block until at least `count` lines were read (SamplerError after timeout_s)."""
        deadline = time.monotonic() + timeout_s
        while len(self.lines) < count:
            if time.monotonic() > deadline or (self._process is not None and self._process.poll() is not None):
                raise SamplerError(f"`{' '.join(self.command)}` printed {len(self.lines)} line(s) in "
                                   f"{timeout_s:.0f} s, expected {count}")
            time.sleep(0.05)

    def mark(self) -> int:
        with self._lock:
            self.marks.append(len(self.lines))
            return self.marks[-1]

    def stop(self) -> list[str]:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        with self._lock:
            return list(self.lines)

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
