"""Verdicts on the Orin itself: its L4T release and JetPack, CUDA, GPU device nodes, profile, and the engine's
nvidia runtime with its CSV mount specs."""

from __future__ import annotations

from typing import Any

from conformance.config.devices import MadeFor, Runtime
from conformance.config.profiles import Profile, ProfileChoice
from conformance.device.facts import CUDA_VERSION_JSON, NV_TEGRA_RELEASE, DeviceInfo
from conformance.device.verdicts import Verdict, listing, verdict

RELEASE_SOURCE = "L4T's /etc/nv_tegra_release; NVIDIA JetPack release notes"


class NotApplicable(Exception):
    """The verdict does not apply to these facts; the message says why (the check skips with it)."""


def release_readable(device: DeviceInfo) -> Verdict:
    problems = [w for w in device.warnings if "nv_tegra_release" in w]
    return verdict(device.l4t is not None, f"/{NV_TEGRA_RELEASE} not in L4T's format: "
                   f"{listing(problems)}" if device.l4t is None else f"L4T {device.l4t.version}",
                   "'# R36 (release), REVISION: 4.3, ...'", "reinstall nvidia-l4t-core or reflash the module",
                   RELEASE_SOURCE)


def release_known(device: DeviceInfo) -> Verdict:
    if device.l4t is None:
        raise NotApplicable("no readable L4T release (see test_l4t_release_file_is_readable)")
    return verdict(device.jetpack != "unknown",
                   f"L4T {device.l4t.version}, which is not a release this kit knows (JetPack unknown)",
                   "a release listed in fixtures/devices/l4t_jetpack.yaml",
                   "add the release with its JetPack and CUDA from NVIDIA's release notes, or flash a listed JetPack",
                   RELEASE_SOURCE)


def jetpack_matches_profile(device: DeviceInfo, profile: Profile) -> Verdict:
    if not profile.jetson:
        raise NotApplicable(f"profile {profile.name} is not a Jetson profile: no JetPack requirement")
    if device.jetpack_major is None:
        raise NotApplicable("JetPack unknown (see test_l4t_release_maps_to_a_known_jetpack)")
    l4t = device.l4t.version if device.l4t else "?"
    return verdict(device.jetpack_major == profile.jetpack_major, f"JetPack {device.jetpack} (L4T {l4t})",
                   f"JetPack {profile.jetpack_major} required by profile {profile.name}",
                   f"flash JetPack {profile.jetpack_major}.x: the images build on l4t r36 bases",
                   "seed 000 'Final Base Image'; seed 001 'Key Decisions'")


def cuda_matches_jetpack(device: DeviceInfo) -> Verdict:
    if device.expected_cuda is None:
        raise NotApplicable(f"JetPack {device.jetpack}: no known CUDA to compare with")
    return verdict(device.cuda == device.expected_cuda,
                   f"/usr/local/cuda is CUDA {device.cuda or 'missing'} (/{CUDA_VERSION_JSON})",
                   f"CUDA {device.expected_cuda} shipped with JetPack {device.jetpack}",
                   "`sudo apt install nvidia-jetpack` (a mismatch shows as 'Loaded runtime CuDNN library ... but "
                   "source was compiled with')", "NVIDIA JetPack release notes; seed 000 'Final Base Image'")


def missing_nodes(present: set[str], runtime: Runtime) -> list[str]:
    absent = [node for node in runtime.nodes_required if node not in present]
    if not any(node in present for node in runtime.nodes_any_of):
        absent.append(" or ".join(runtime.nodes_any_of))
    return absent


def gpu_nodes_on_host(device: DeviceInfo, runtime: Runtime) -> Verdict:
    present = {n for n in (*runtime.nodes_required, *runtime.nodes_any_of) if (device.root / n.lstrip("/")).exists()}
    absent = missing_nodes(present, runtime)
    return verdict(not absent, f"GPU device nodes missing: {listing(absent)}" if absent
                   else f"{listing(sorted(present))}",
                   f"{listing(runtime.nodes_required)} and one of {listing(runtime.nodes_any_of)}, or CUDA fails "
                   "with 'NvRmMemInitNvmap failed'",
                   "reinstall the L4T kernel modules (nvidia-l4t-kernel) and reboot; in a container: --runtime nvidia",
                   "dusty-nv/jetson-containers#384")


def profile_fits(device: DeviceInfo, choice: ProfileChoice) -> Verdict:
    profile = choice.profile
    board = (f"this Jetson ({device.model!r}, compatible {listing(device.compatible)}, "
             f"{device.mem_total_mb} MB)")
    if not profile.jetson:
        return verdict(False, f"{board} matches no Jetson profile, so the generic host thresholds would apply",
                       "a Jetson profile for this board", "add a profile in fixtures/profiles/ or pass --profile",
                       "fixtures/profiles/")
    return verdict(profile.match.matches(device), f"profile {profile.name} ({choice.reason}) for {board}",
                   f"a profile that fits the board ({profile.name} wants {profile.match})",
                   "drop --profile to detect it, or pass the profile of this board", "fixtures/profiles/")


def release_made_for(device: DeviceInfo, made_for: MadeFor) -> Verdict:
    if device.l4t is None:
        raise NotApplicable("no readable L4T release (see test_l4t_release_file_is_readable)")
    l4t = ".".join(device.l4t.version.split(".")[:2])
    wrong = []
    if l4t != made_for.l4t:
        wrong.append(f"L4T {device.l4t.version} (JetPack {device.jetpack})")
    if device.cuda != made_for.cuda:
        wrong.append(f"CUDA {device.cuda or 'missing'}")
    return verdict(not wrong, f"this Orin runs {listing(wrong)}" if wrong else
                   f"L4T {device.l4t.version}, CUDA {device.cuda}",
                   f"L4T r{made_for.l4t}.x with CUDA {made_for.cuda}, the release the jetson images are built for",
                   f"flash JetPack 6.1/6.2 (L4T r{made_for.l4t}), or rebuild the images on the l4t bases of this "
                   "release (their TensorRT engines must be rebuilt too)", made_for.source)


# --- the engine and the nvidia runtime ---------------------------------------------------------------------

def _runtimes(info: dict[str, Any]) -> list[str]:
    runtimes = info.get("Runtimes")
    return sorted(runtimes) if isinstance(runtimes, dict) else []


def runtime_registered(info: dict[str, Any], runtime: Runtime) -> Verdict:
    names = _runtimes(info)
    return verdict(runtime.name in names, f"the engine knows runtimes {names}, not '{runtime.name}', so "
                   f"`--runtime {runtime.name}` fails with 'unknown or invalid runtime name: {runtime.name}'"
                   if runtime.name not in names else f"runtimes {names}",
                   f"nvidia-container-runtime registered as '{runtime.name}'",
                   "`sudo apt install nvidia-container-toolkit && sudo nvidia-ctk runtime configure --runtime=docker "
                   "&& sudo systemctl restart docker`", "dusty-nv/jetson-containers#1460")


def runtime_is_default(info: dict[str, Any], runtime: Runtime) -> Verdict:
    if runtime.name not in _runtimes(info):
        raise NotApplicable(f"'{runtime.name}' is not registered (see test_nvidia_runtime_is_registered)")
    default = info.get("DefaultRuntime")
    return verdict(default == runtime.name,
                   f"DefaultRuntime '{default}': '{runtime.name}' is registered but not the default, so "
                   "`docker build` steps and containers started without --runtime see no GPU"
                   if default != runtime.name else f"DefaultRuntime '{default}'",
                   f"DefaultRuntime '{runtime.name}' (the GPU during builds)",
                   f"set \"default-runtime\": \"{runtime.name}\" in /etc/docker/daemon.json "
                   f"(`sudo nvidia-ctk runtime configure --runtime=docker --set-as-default`) and restart docker",
                   "seed 003 'nvidia-docker build'")


def mount_specs(specs: dict[str, tuple[tuple[str, str], ...] | None], runtime: Runtime) -> Verdict:
    problems = [f"{runtime.csv_dir}/{name} is missing" for name, entries in specs.items() if entries is None]
    devices = {path for kind, path in specs.get("devices.csv") or () if kind == "dev"}
    if specs.get("devices.csv") is not None:
        named = {n for n in (*runtime.nodes_required, *runtime.nodes_any_of)
                 if n in devices or any(d.startswith(n + "/") for d in devices)}
        absent = missing_nodes(named, runtime)
        if absent:
            problems.append(f"devices.csv does not name {listing(absent)}")
    if specs.get("drivers.csv") is not None:
        libs = [p for kind, p in specs["drivers.csv"] or () if kind in ("lib", "sym")]
        if not any(p.rsplit("/", 1)[-1].startswith(runtime.driver_library) for p in libs):
            problems.append(f"drivers.csv does not name {runtime.driver_library}")
    return verdict(not problems, listing(problems) if problems else
                   f"{listing(list(specs))} naming the GPU nodes and {runtime.driver_library}",
                   f"{listing(runtime.csv_files)} in {runtime.csv_dir} naming /dev/nvmap, the GPU node and "
                   f"{runtime.driver_library}, or the runtime mounts nothing",
                   "reinstall nvidia-l4t-init and nvidia-container-toolkit (`sudo apt install --reinstall "
                   "nvidia-l4t-init nvidia-container-toolkit`)", runtime.source)
