"""Reading a Dockerfile as the rules are written in it: instructions with their line numbers, the `pip install`
commands of each RUN (and the requirement files they read from the tree), ARG/ENV settings and FROM lines.

Small and strict on purpose: enough of the Dockerfile and shell grammar to find where a rule is broken, not a
full parser. Continuation lines are joined, comments dropped, `RUN --mount=...` flags kept apart.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement


class DockerfileError(ValueError):
    """A Dockerfile or a requirement file it installs cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line of the instruction's first line
    keyword: str  # upper case: FROM, RUN, ARG ...
    text: str  # everything after the keyword, continuation lines joined

    def flags(self) -> list[str]:
        """Leading `--flag=value` options (RUN --mount=..., FROM --platform=..., COPY --from=...)."""
        return _FLAGS.match(self.text)[1].split()  # type: ignore[index]

    def body(self) -> str:
        """The text after the leading flags (for RUN: the shell command)."""
        return _FLAGS.match(self.text)[2]  # type: ignore[index]


_FLAGS = re.compile(r"^((?:--\S+\s+)*)(.*)$", re.S)


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined and comment lines dropped."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is not part of it
        if not pending:
            start = number
        continues = line.endswith("\\")
        pending.append(line[:-1].strip() if continues else line)
        if not continues:
            joined = " ".join(part for part in pending if part)
            keyword, _, rest = joined.partition(" ")
            out.append(Instruction(start, keyword.upper(), rest.strip()))
            pending = []
    if pending:
        joined = " ".join(pending)
        keyword, _, rest = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), rest.strip()))
    return out


def read_instructions(dockerfile: Path) -> list[Instruction]:
    try:
        return instructions(dockerfile.read_text())
    except OSError as error:
        raise DockerfileError(f"{dockerfile}: cannot read it ({error.strerror})") from None


# --- pip install commands ------------------------------------------------------------------------------

#: pip install options that take a value (so the value is not a package).
_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--platform", "--python-version",
    "--implementation", "--abi", "--progress-bar", "--src", "--upgrade-strategy", "--trusted-host", "--cert",
    "--client-cert", "--cache-dir", "--log", "--timeout", "--retries", "--exists-action", "--global-option",
    "--config-settings", "-C", "--report", "--root-user-action", "--only-binary", "--no-binary"})


@dataclass(frozen=True)
class PipInstall:
    """One `pip install` command of a RUN instruction."""

    line: int
    command: str
    no_deps: bool
    packages: tuple[str, ...]  # requirement names given on the command line (variables left out)
    requirement_files: tuple[str, ...]  # `-r FILE` as written (a path inside the image)


def _commands(shell: str) -> Iterator[list[str]]:
    """Simple commands of a shell line: words split at `&&`, `||`, `;` and `|`."""
    lexer = shlex.shlex(shell, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    words: list[str] = []
    try:
        for token in lexer:
            if token and set(token) <= set(";&|"):
                if words:
                    yield words
                words = []
            else:
                words.append(token)
    except ValueError:  # unbalanced quotes: fall back to plain splitting
        words = shell.split()
    if words:
        yield words


def _pip_args(words: list[str]) -> list[str] | None:
    """The arguments after `install` when words run pip's install command, else None."""
    words = [w for w in words if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", w)]  # leading VAR=value settings
    for i, word in enumerate(words):
        name = word.rsplit("/", 1)[-1]
        if re.fullmatch(r"pip(3(\.\d+)?)?", name) and words[i + 1:i + 2] == ["install"]:
            return words[i + 2:]
        if re.fullmatch(r"python(3(\.\d+)?)?", name) and words[i + 1:i + 4] == ["-m", "pip", "install"]:
            return words[i + 4:]
    return None


def requirement_name(spec: str) -> str | None:
    """The distribution a requirement string names (`gliner==0.2.29` -> gliner), None for paths and URLs."""
    if "$" in spec or "/" in spec or spec.endswith((".whl", ".tar.gz", ".zip")):
        return None
    try:
        return Requirement(spec).name
    except InvalidRequirement:
        return None


def pip_installs(instruction: Instruction) -> list[PipInstall]:
    """The `pip install` commands of a RUN instruction."""
    if instruction.keyword != "RUN":
        return []
    found = []
    for words in _commands(instruction.body()):
        args = _pip_args(words)
        if args is None:
            continue
        packages: list[str] = []
        files: list[str] = []
        skip = False
        for i, arg in enumerate(args):
            if skip:
                skip = False
                continue
            option, eq, value = arg.partition("=")
            if option in ("-r", "--requirement"):
                files.append(value if eq else (args[i + 1] if i + 1 < len(args) else ""))
                skip = not eq
            elif option in _VALUE_OPTIONS:
                skip = not eq
            elif not arg.startswith("-") and (name := requirement_name(arg)):
                packages.append(name)
        found.append(PipInstall(instruction.line, " ".join(words), "--no-deps" in args, tuple(packages),
                                tuple(files)))
    return found


def requirement_names(path: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """Distribution names a requirement file installs (following nested `-r`; `-c` constrains, installs none)."""
    if path in seen:
        return []
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise DockerfileError(f"{path}: cannot read it ({error.strerror})") from None
    names = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            names += requirement_names(path.parent / line.split(None, 1)[1], seen | {path})
        elif not line.startswith("-") and (name := requirement_name(line)):
            names.append(name)
    return names


# --- ARG / ENV / FROM -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    line: int
    keyword: str  # ARG, ENV or LABEL
    name: str
    value: str  # '' for an ARG without a default


def settings(instrs: list[Instruction]) -> list[Setting]:
    """Every ARG default, ENV and LABEL value, as written."""
    out = []
    for ins in instrs:
        if ins.keyword == "ARG":
            name, _, value = ins.text.partition("=")
            out.append(Setting(ins.line, "ARG", name.strip(), value.strip().strip('"')))
        elif ins.keyword in ("ENV", "LABEL"):
            try:
                words = shlex.split(ins.text)
            except ValueError:
                words = ins.text.split()
            if words and "=" not in words[0] and ins.keyword == "ENV":  # legacy `ENV NAME value`
                out.append(Setting(ins.line, "ENV", words[0], " ".join(words[1:])))
                continue
            for word in words:
                name, _, value = word.partition("=")
                out.append(Setting(ins.line, ins.keyword, name, value))
    return out


@dataclass(frozen=True)
class From:
    line: int
    platform: str | None
    image: str
    stage: str | None = field(default=None)


def from_lines(instrs: list[Instruction]) -> list[From]:
    out = []
    for ins in instrs:
        if ins.keyword != "FROM":
            continue
        platform = next((flag.split("=", 1)[1] for flag in ins.flags() if flag.startswith("--platform=")), None)
        words = ins.body().split()
        stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
        out.append(From(ins.line, platform, words[0] if words else "", stage))
    return out
