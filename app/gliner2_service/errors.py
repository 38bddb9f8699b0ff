"""One-line error details for refused requests: which field, what limit or form, what was found."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from .schemas import limit_name

_JSON_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "true/false", list: "a list",
               dict: "an object", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _field(loc: Sequence[Any]) -> str:
    """('text', 0) -> text[0]; ('tasks', 'x', 0) -> tasks['x'][0]; ('tasks', 'x', '[key]') -> tasks key 'x'."""
    parts = [p for p in loc if p != "body" and not (isinstance(p, str) and ("[" in p and p != "[key]"
                                                                             or "constrained" in p))]
    if not parts:
        return "body"
    out = str(parts[0])
    for i, part in enumerate(parts[1:], 1):
        if part == "[key]":
            return f"{out.rsplit('[', 1)[0]} name {_short(parts[i - 1])}"
        out += f"[{part}]" if isinstance(part, int) else f"[{part!r}]"
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: Dict[str, Any]) -> str:
    """One pydantic error as 'FIELD must ..., but got ...'."""
    loc = tuple(error.get("loc", ()))
    field = _field(loc)
    root = next((str(p) for p in loc if p != "body"), "body")
    kind, ctx, found = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    if kind == "string_too_long":
        return (f"{field} must be at most {ctx.get('max_length')} characters ({limit_name(root, 'chars')}), "
                f"but got {len(found) if isinstance(found, str) else found}")
    if kind == "too_long":
        return (f"{field} must hold at most {ctx.get('max_length')} entries ({limit_name(root, 'items')}), "
                f"but got {ctx.get('actual_length')}")
    if kind in ("string_too_short", "too_short"):
        return f"{field} must not be empty, but got {_short(found)}"
    if kind == "string_pattern_mismatch":
        return f"{field} must contain a non-space character, but got {_short(found)}"
    if kind in ("greater_than_equal", "less_than_equal", "finite_number"):
        return f"{field} must be a finite number from 0 to 1, but got {_short(found)}"
    if kind == "string_unicode" or "surrogate" in str(error.get("msg", "")):
        return f"{field} must be valid Unicode text, but got a lone surrogate"
    if kind == "missing":
        return f"{field} is required, but the body has no {field!r}"
    if kind == "extra_forbidden":
        return f"{field} is not a field of this request; expected only the fields of its schema"
    if kind in ("model_attributes_type", "dict_type") and field == "body":
        return f"the body must be a JSON object, but got {_json_type(found)}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = {"string_type": "a string", "list_type": "a list", "dict_type": "an object",
                  "float_type": "a number"}.get(kind, kind.replace("_type", ""))
        return f"{field} must be {wanted}, but got {_json_type(found)} {_short(found)}"
    message = str(error.get("msg", "is invalid")).replace("Value error, ", "")
    return f"{field} {message}" if message.startswith("must") else f"{field}: {message}"


def _relevant(errors: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """For ``text`` (a string or a list of strings) keep the branch that matches what was sent."""
    out = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        tags = [p for p in loc if isinstance(p, str) and ("constrained" in p)]
        if tags and len(loc) > 1:
            is_list_branch = tags[0].startswith("list[")
            sent_list = isinstance(error.get("input"), list) if not is_list_branch or len(loc) <= 3 else True
            if is_list_branch and error.get("type") == "list_type":
                continue  # a string was sent: the list branch's complaint is noise
            if not is_list_branch and error.get("type") == "string_type" and sent_list:
                continue  # a list was sent: the string branch's complaint is noise
        out.append(error)
    return out or errors


def validation_detail(errors: Sequence[Any]) -> str:
    """All problems of a request, one line."""
    seen: List[str] = []
    for error in _relevant(list(errors)):
        line = describe(error)
        if line not in seen:
            seen.append(line)
    return "; ".join(seen)
