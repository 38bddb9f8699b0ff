"""The wheelhouse: every wheel the generic builds install, downloaded on the host so builds need no network.

Layout: ``torch/`` holds the pinned torch wheel and its dependencies (bind-mounted by the torch layer only,
so changes elsewhere never touch that layer's cache key); ``pypi/`` holds the rest. Requirement files named
in `fixtures/images/wheelhouse.yaml` are read from the images tree under test, and each download comes from
its lock in the tree (`images/locks/`, conformance.locks): the wheelhouse holds exactly the locked files,
hash-checked, so builds that resolve from it are the same on every machine and every day. A download whose
lock is stale or missing (a tree edited without `make lock`) resolves its requirements as they stand; the
image check on locks then fails for that tree.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from conformance import IMAGES_DIR, work_dir
from conformance.config.images import WHEELHOUSE_SPEC, Variant, load_wheelhouse_spec
from conformance.locks import LockSpec, image_locks, locks_digest
from conformance.util.files import link_or_copy, sha256_of


class WheelhouseError(RuntimeError):
    """A wheel could not be downloaded or found; the message says which and what to run."""


def default_wheelhouse() -> Path:
    return work_dir() / "wheelhouse"


def pip_download(args: Sequence[str], dest: Path, python_version: str, find_links: Path | None = None,
                 platforms: Sequence[str] = ()) -> None:
    """pip download args into dest (for platforms, else this machine's); from find_links alone (no network) when
    that suffices, else the index."""
    argv = [sys.executable, "-m", "pip", "download", "--only-binary=:all:",
            "--python-version", python_version, "--dest", str(dest),
            *(arg for tag in platforms for arg in ("--platform", tag)), *args]
    if find_links is not None and find_links.is_dir():
        offline = subprocess.run([*argv, "--no-index", "--find-links", str(find_links)], capture_output=True,
                                 text=True, timeout=1800, check=False)
        if offline.returncode == 0:
            return
    # A download cut mid-way is retried in a new pip call (a new connection), not a red run.
    argv += ["--retries", "10", "--resume-retries", "20"]
    for _attempt in range(3):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
        if result.returncode == 0:
            return
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
    raise WheelhouseError(f"pip download {' '.join(args)} failed (exit {result.returncode}); expected every "
                          f"wheel to be reachable from the package index or find-links:\n{tail}")


def wheelhouse_stamp(images_dir: Path = IMAGES_DIR, spec_path: Path = WHEELHOUSE_SPEC) -> str:
    """Digest of what decides a wheelhouse's content: its spec, the tree's requirement files and their locks."""
    spec = load_wheelhouse_spec(spec_path)
    locks = image_locks(images_dir, spec_path)
    texts = []
    for lock in locks.values():
        for path in lock.sources:
            if not path.is_file():
                raise WheelhouseError(f"{images_dir} has no {path.relative_to(images_dir)}, which {spec_path.name} "
                                      "lists for the wheelhouse; expected a tree laid out like the kit's images/")
            texts.append(path.read_text())
    return hashlib.sha256((spec.model_dump_json() + "".join(texts) + locks_digest(list(locks.values())))
                          .encode()).hexdigest()


def _download_args(lock: LockSpec) -> list[str]:
    """A current lock: exactly its files, hash-checked. A stale or missing one: its inputs, resolved now."""
    if lock.stale() is None:
        return ["--no-deps", "--require-hashes", "-r", str(lock.path)]
    args = ["--no-deps"] if lock.no_deps else []
    for source in lock.sources:
        args += ["-r", str(source)]
    return [*args, *lock.packages]


def build_wheelhouse(out: Path | None = None, spec_path: Path = WHEELHOUSE_SPEC,
                     images_dir: Path = IMAGES_DIR, find_links: Path | None = None) -> Path:
    """Download on the host every wheel the generic builds need (idempotent: a stamp records the inputs).

    Layout: ``torch/`` holds the pinned torch wheel and its dependencies (bind-mounted by the torch layer
    only, so changes elsewhere never touch that layer's cache key); ``pypi/`` holds the rest. With
    find_links (another wheelhouse), each group is resolved from it first, without network.
    """
    out = out or default_wheelhouse()
    spec = load_wheelhouse_spec(spec_path)
    locks = image_locks(images_dir, spec_path)
    stamp_value = wheelhouse_stamp(images_dir, spec_path)
    stamp = out / ".stamp"
    if stamp.is_file() and stamp.read_text().strip() == stamp_value:
        return out
    python_version = spec.python_version
    # An outdated wheelhouse still holds most wheels: resolve from it first, fetch only what is new.
    find_links = find_links or (out if out.is_dir() else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wheelhouse-", dir=out.parent))
    try:
        for group_name, group in spec.groups.items():
            dest = staging / group_name
            dest.mkdir(parents=True)
            links = find_links / group_name if find_links is not None else None
            if find_links is not None and links is not None and links.is_dir() \
                    and not (group.requirements or group.no_deps_requirements) \
                    and _same_group(find_links, group_name, group.model_dump_json()):
                shutil.rmtree(dest)  # the same pinned packages (the torch layer's): hard links, not copies
                shutil.copytree(links, dest, copy_function=link_or_copy)
                (staging / f"{GROUP_STAMP}-{group_name}").write_text(group.model_dump_json())
                continue
            if links is not None and links.is_dir():
                # pip download skips a wheel already in --dest: hard links first, so nothing is copied twice
                for wheel in links.glob("*.whl"):
                    link_or_copy(str(wheel), str(dest / wheel.name))
            for key, lock in locks.items():
                if key.startswith(f"{group_name}/"):
                    pip_download(_download_args(lock), dest, python_version, links)
            # beside, not inside, the group: a file in torch/ would change the torch layer's cache key
            (staging / f"{GROUP_STAMP}-{group_name}").write_text(group.model_dump_json())
        (staging / ".stamp").write_text(stamp_value + "\n")
        # Swap in whole: a half-downloaded wheelhouse is never left under the real name.
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


GROUP_STAMP = ".group"


def _same_group(wheelhouse: Path, name: str, spec_json: str) -> bool:
    stamp = wheelhouse / f"{GROUP_STAMP}-{name}"
    if stamp.is_file():
        return stamp.read_text() == spec_json
    return False


def wheelhouse_for(images_dir: Path, default: Path | None = None) -> Path:
    """The wheelhouse a generic build of images_dir installs from, made if needed.

    The kit's own tree uses the default wheelhouse (`make images-wheelhouse`). Another tree whose requirement
    files read the same uses it too; one whose requirements differ gets its own, keyed by its inputs and
    resolved from the default one first, so two trees never overwrite each other's wheels.
    """
    default = default or default_wheelhouse()
    if images_dir.resolve() == IMAGES_DIR.resolve():
        return build_wheelhouse(default, images_dir=images_dir)
    stamp = wheelhouse_stamp(images_dir)
    own = default / ".stamp"
    if own.is_file() and own.read_text().strip() == stamp:
        return default
    return build_wheelhouse(default.parent / "wheelhouses" / stamp[:16], images_dir=images_dir,
                            find_links=default if default.is_dir() else None)


def torch_wheel(wheelhouse: Path) -> Path:
    """The one torch wheel of the wheelhouse's torch layer."""
    found = sorted((wheelhouse / "torch").glob("torch-*.whl"))
    if len(found) != 1:
        raise WheelhouseError(f"expected exactly one torch wheel in {wheelhouse / 'torch'}, found {len(found)}; "
                          "run `make images-wheelhouse`")
    return found[0]


def variant_build_args(variant: Variant, wheelhouse: Path) -> dict[str, str]:
    """The variant's build args with {torch_wheel} and {torch_sha256} filled in from the wheelhouse."""
    values: dict[str, str] = {}
    if any("{torch" in value for value in variant.build_args.values()):
        wheel = torch_wheel(wheelhouse)
        # Kept beside, not inside, torch/: that folder is the torch layer's bind mount (its cache key).
        sha_file = wheelhouse / (wheel.name + ".sha256")
        if not sha_file.is_file():
            sha_file.write_text(sha256_of(wheel) + "\n")
        values = {"torch_wheel": wheel.name, "torch_sha256": sha_file.read_text().strip()}
    return {key: value.format(**values) for key, value in variant.build_args.items()}


