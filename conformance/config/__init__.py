"""One typed, validated way to read the kit's data files (YAML): `load(path, Model)`.

Every file under fixtures/ that the kit reads has a pydantic model in this package; a problem is a
`ConfigError` whose one line names the file, the key, what was found and what was expected, e.g.
``fixtures/profiles/x.yaml: thresholds.tiled_fps_min: expected a number, found 'fast'``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)


class ConfigError(ValueError):
    """A data file is missing, is not YAML, or does not match its model; the message says where and what."""


class Model(BaseModel):
    """Base of every data-file model: unknown keys are errors (a typo must not silently change nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"expected a regular expression ({error})") from None
    return value


#: A string field holding a Python regular expression; one that does not compile is a ConfigError.
Regex = Annotated[str, AfterValidator(_compiles)]


# pydantic's wording -> ours ("expected ..."), by error type; anything else keeps pydantic's message.
_EXPECTED = {
    "missing": "is missing; expected a value",
    "extra_forbidden": "is not a known key",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "int_type": "expected an integer", "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string", "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "list_type": "expected a list", "dict_type": "expected a mapping", "model_type": "expected a mapping",
    "tuple_type": "expected a list",
}


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind in ("missing", "extra_forbidden"):
        return f"{where}: {_EXPECTED[kind]}"
    expected = _EXPECTED.get(kind) or error["msg"].replace("Input should be", "expected").replace(
        "Value error, ", "")
    return f"{where}: {expected}, found {error['input']!r}"


def read_yaml(path: Path) -> Any:
    """The parsed YAML document of path; ConfigError when it is missing or not YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at} ({getattr(error, 'problem', None) or error})") from None


def parse(data: Any, model: type[T], where: str | Path) -> T:
    """Validate already-parsed data against model; the first problem becomes a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = error.errors()
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(f"{where}: {_describe(problems[0])}{more}") from None


def load(path: Path, model: type[T]) -> T:
    """Read and validate one data file."""
    return parse(read_yaml(path), model, path)


def load_mapping(path: Path) -> dict[str, Any]:
    """A data file whose top level must be a mapping (for criteria files not yet given a model of their own)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping, found {type(data).__name__}")
    return data
