"""The layout keeps its promises: imports point one way with no cycles, every data file goes through the typed
loader, modules stay small, nothing points outside the repository, and the README's map matches the tree."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import SOURCE_ROOT

PACKAGES = ("conformance", "app", "nms_cpp")
#: Layers of the suite, lowest first: a module may import its own layer and those below it, never above.
LAYERS = [
    ("utilities", ("conformance", "conformance.util", "conformance.config")),
    ("domain", ("conformance.docker", "conformance.device", "conformance.service", "conformance.tiled",
                "conformance.nms", "conformance.builders", "conformance.reports", "conformance.tiers",
                "conformance.doctor", "conformance.selfproof", "conformance.locks",
                "conformance.rehearsal")),
    ("plugin", ("conformance.options", "conformance.plugin", "conformance.cli", "conformance.__main__")),
    ("checks", ("conformance.checks",)),
]
#: Modules allowed over MAX_LINES, each with its reason.
LONG_MODULES = {
    "nms_cpp/__init__.py": "the binding: every C entry point's argtypes, validation and status mapping in one place",
    "app/tiled/video.py": "video I/O: the OpenCV reader/writer pair and its error handling",
    "app/gliner2_service/engine.py": "the one inference thread: its queue, micro-batching, cancellation and "
                                     "shutdown share that thread's state",
}
MAX_LINES = 300


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((SOURCE_ROOT / package).rglob("*.py")):
            rel = path.relative_to(SOURCE_ROOT)
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


MODULES = dict(_modules())


def _imports(name: str, path: Path) -> set[str]:
    """Modules of our packages that `name` imports at module level or in functions (static, via ast)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), index))
    return best[1]


def test_no_import_cycles() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            # a package importing its own submodule is how packages expose them, not a cycle of concerns
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles) + \
        "; expected imports to point one way (checks -> domain -> config/util)"


def test_imports_point_from_checks_to_domain_to_utilities() -> None:
    upward = [f"{source} imports {target}" for source, targets in GRAPH.items() if source.startswith("conformance")
              for target in targets if target.startswith("conformance") and _layer(target) > _layer(source)]
    assert not upward, ("imports against the layering (utilities < domain < plugin < checks): "
                        + "; ".join(sorted(upward)) + "; move the shared piece down a layer")


def test_the_apps_never_import_the_suite() -> None:
    wrong = [f"{s} imports {t}" for s, ts in GRAPH.items() if s.startswith(("app", "nms_cpp"))
             for t in ts if t.startswith("conformance")]
    assert not wrong, f"the apps ship in the images without the suite: {wrong}"


def test_modules_stay_small() -> None:
    long = {str(path.relative_to(SOURCE_ROOT)): len(path.read_text().splitlines())
            for path in MODULES.values()}
    over = {rel: n for rel, n in long.items() if n > MAX_LINES and rel not in LONG_MODULES}
    assert not over, (f"modules over {MAX_LINES} lines without a reason: {over}; split them by concern or "
                      "add the reason to LONG_MODULES")


def test_yaml_is_read_only_through_the_typed_loader() -> None:
    readers = []
    for name, path in MODULES.items():
        if name.startswith("conformance.config"):
            continue
        text = path.read_text()
        if re.search(r"\byaml\.(safe_)?load\(", text):
            readers.append(str(path.relative_to(SOURCE_ROOT)))
    assert not readers, (f"{readers} read YAML themselves; expected every data file to go through a model "
                         "in conformance/config (one-line errors naming file and key)")


#: Files of the repository that must not point at documents outside it.
POINTERS = re.compile(r"REFERENCE\.md|DESIGN\.md|STYLE\.md|\.\./shared|shared/seeds")


def _tracked_text_files() -> Iterator[Path]:
    for path in SOURCE_ROOT.rglob("*"):
        rel = path.relative_to(SOURCE_ROOT)
        if rel.parts[0] in (".git", ".venv", "build", "reports", ".pytest_cache", ".mypy_cache", ".hypothesis",
                            ".benchmarks") or not path.is_file() or "egg-info" in str(rel) \
                or "__pycache__" in rel.parts:
            continue
        if path.suffix in (".py", ".md", ".yaml", ".yml", ".sh", ".mk", ".txt", ".toml", ".cpp", ".hpp", ".h") \
                or path.name in ("Makefile", "Dockerfile", "run"):
            yield path


def test_nothing_points_outside_the_repository() -> None:
    hits = [f"{p.relative_to(SOURCE_ROOT)}:{i}" for p in _tracked_text_files() if p != Path(__file__)
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if POINTERS.search(line)]
    assert not hits, (f"{len(hits)} lines point at documents outside the repository: {hits[:20]}; expected the "
                      "code and docs to stand alone (docs/ holds what they need)")


def _readme_map() -> list[str]:
    text = (SOURCE_ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)
    if len(section) < 2:
        pytest.fail("README.md has no '## Layout' section mapping the tree", pytrace=False)
    return re.findall(r"^\| `([^`]+)` \|", section[1].split("\n## ", 1)[0], re.MULTILINE)


def test_the_readme_map_matches_the_tree() -> None:
    mapped = _readme_map()
    missing = [p for p in mapped if not (SOURCE_ROOT / p.rstrip("/")).exists()]
    packages = sorted(str(p.parent.relative_to(SOURCE_ROOT)) + "/" for p in (SOURCE_ROOT / "conformance").glob(
        "*/__init__.py"))
    unmapped = [p for p in packages if p not in mapped]
    assert not missing and not unmapped, (
        f"README '## Layout' names paths that do not exist: {missing}; and omits packages {unmapped}; "
        "expected the map to match the tree")
