"""pydantic validation errors as phototherm :class:`~phototherm.errors.Problem` records.

Each pydantic error becomes one Problem whose path is written the way the
scenario file is (``sources[0].power_W``, ``tissues.tumour.perfusion_per_s``),
whose value is what was given and whose expectation is said in words, with
the unit of the key. Unknown keys get "did you mean ...?" from the keys
allowed at that level; a choice not among the allowed ones gets the closest
allowed choices.

The paths pydantic reports include the tag of a tagged union (the ``type`` of
a source, ``'constant'`` of a schedule, ...); they are dropped here by walking
the model types along the error's location.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any, Iterable, Union

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..errors import InputError, Problem, Problems

__all__ = ["NOT_GIVEN", "problems_from_validation", "input_error_from_validation", "format_path", "did_you_mean",
           "unit_of"]


class _NotGiven:
    """Value shown for a required key that is missing."""

    def __repr__(self) -> str:
        return "(not given)"


#: Stands for the value of a missing key in a Problem.
NOT_GIVEN = _NotGiven()


class _Table:
    """A table (dict) given as a value, shown by its keys rather than in full."""

    def __init__(self, table: dict) -> None:
        self.table = table

    def __repr__(self) -> str:
        keys = list(self.table)
        shown = ", ".join(map(str, keys[:4])) + (f", ... ({len(keys)} keys)" if len(keys) > 4 else "")
        return f"{{table: {shown}}}" if keys else "{}"

    def __eq__(self, other: object) -> bool:
        return self.table == (other.table if isinstance(other, _Table) else other)


def _shown(value: Any) -> Any:
    """The value as a Problem shows it: tables by their keys, long arrays cut."""
    if isinstance(value, dict):
        return _Table(value)
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [_Table(v) if isinstance(v, dict) else v for v in value]
    return value

_TYPE_WORDS = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string (text in quotes)", "list_type": "an array [...]",
    "tuple_type": "an array [...]", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table", "is_instance_of": "a table",
}


def did_you_mean(value: Any, choices: Iterable[str], n: int = 3) -> str:
    """``" (did you mean 'x'?)"`` with the closest of ``choices``, or ``""``."""
    if not isinstance(value, str):
        return ""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(value, choices, n=n, cutoff=0.6)
    if not close and value:
        low = value.lower()
        close = [c for c in choices if c.lower() == low] or [c for c in choices if low in c.lower()][:n]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def unit_of(info: FieldInfo | None) -> str:
    """The unit of a field, the first ``[...]`` in its description (``""`` if none)."""
    if info is None or not info.description:
        return ""
    match = re.search(r"\[([^\]]+)\]", info.description)
    return f" [{match.group(1)}]" if match else ""


def format_path(parts: Iterable[Any]) -> str:
    """``("sources", 0, "power_W")`` -> ``"sources[0].power_W"``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


# -- walking the model types along an error location -------------------------------------------------
class _Walk:
    """Where an error location leads: the displayed path, the field and model there, the raw value."""

    def __init__(self) -> None:
        self.parts: list[Any] = []
        self.info: FieldInfo | None = None
        self.annotation: Any = None
        self.parent_model: type[BaseModel] | None = None
        self.node: Any = None
        self.unknown = False
        self.at_field = False


def _strip(tp: Any) -> tuple[Any, str | None]:
    """Remove Annotated and Optional wrappers; return the type and a discriminator if one was found."""
    discriminator = None
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            for meta in tp.__metadata__:
                if isinstance(meta, FieldInfo) and isinstance(meta.discriminator, str):
                    discriminator = meta.discriminator
            tp = typing.get_args(tp)[0]
            continue
        if origin is Union:
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, discriminator


def _tagged(members: Iterable[Any], discriminator: str) -> dict[str, type[BaseModel]]:
    out = {}
    for member in members:
        member, _ = _strip(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and discriminator in member.model_fields:
            for tag in typing.get_args(member.model_fields[discriminator].annotation):
                out[tag] = member
    return out


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, (list, tuple)) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    if isinstance(node, BaseModel):
        return getattr(node, str(key), None)
    return None


def _walk(root: type[BaseModel], loc: tuple, data: Any) -> _Walk:
    w = _Walk()
    tp: Any = root
    discriminator: str | None = None
    node = data
    for elem in loc:
        w.at_field = False
        if w.unknown:
            w.parts.append(elem)
            continue
        tp, found = _strip(tp)
        discriminator = found or discriminator
        if typing.get_origin(tp) is Union:
            members = typing.get_args(tp)
            if discriminator:
                tp = _tagged(members, discriminator).get(elem, tp)
                discriminator = None
            else:
                tp = next((m for m in members if m is not type(None)), None)
            continue  # the tag or member name is not part of the user's path
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            w.parent_model = tp
            info = tp.model_fields.get(elem) if isinstance(elem, str) else None
            w.parts.append(elem)
            node = _child(node, elem)
            if info is None:
                w.unknown, w.info, tp = True, None, None
            else:
                w.info, tp = info, info.annotation
                w.at_field = True
                discriminator = info.discriminator if isinstance(info.discriminator, str) else None
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (list, tuple):
            if isinstance(node, (list, tuple)) or not isinstance(elem, int):
                w.parts.append(elem)
                node = _child(node, elem)
            # else: a single number standing for three values; the index is not the user's
            tp = args[0] if args else None
            continue
        if origin is dict:
            w.parts.append(elem)
            node = _child(node, elem)
            tp = args[1] if len(args) == 2 else None
            continue
        w.parts.append(elem)
        node = _child(node, elem)
        tp = None
    w.annotation = tp
    w.node = node
    return w


# -- one error -> one problem ---------------------------------------------------------------------
def _choices_of(tp: Any) -> list:
    tp, _ = _strip(tp)
    if typing.get_origin(tp) is typing.Literal:
        return list(typing.get_args(tp))
    return []


def _bound_text(ctx: dict, unit: str) -> str:
    for key, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if key in ctx:
            return f"a value {op} {ctx[key]:g}{unit}" if isinstance(ctx[key], (int, float)) else \
                f"a value {op} {ctx[key]}{unit}"
    return f"a valid value{unit}"


def _meaning(info: FieldInfo | None) -> str:
    if info is None or not info.description:
        return ""
    first = re.split(r"\.\s+(?=[A-Z])", info.description)[0].rstrip(".")
    return f" ({first})"


def _problem(error: dict, root: type[BaseModel], data: Any, prefix: str) -> Problem:
    kind = error["type"]
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    walk = _walk(root, loc, data)
    info = walk.info
    unit = unit_of(info)
    value = error.get("input")
    parts = list(walk.parts)

    if kind == "extra_forbidden":
        allowed = list(walk.parent_model.model_fields) if walk.parent_model else []
        key = parts[-1] if parts else ""
        hint = did_you_mean(key, allowed)
        where = format_path(parts[:-1]) or "the top level"
        expected = (f"no key {key!r} in {where}{hint}; "
                    f"known keys: {', '.join(allowed)}")
    elif kind == "missing":
        value = NOT_GIVEN
        expected = f"a value: this key is required{_meaning(info)}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = sorted(_tagged(typing.get_args(_strip(walk.annotation)[0]), "type"))
        if isinstance(walk.node, dict):  # not for the string form of a boundary face
            parts = parts + ["type"]
        value = ctx.get("tag", NOT_GIVEN) if kind == "union_tag_invalid" else NOT_GIVEN
        expected = f"one of {', '.join(repr(t) for t in tags)}{did_you_mean(value, tags)}"
        if kind == "union_tag_not_found":
            expected = f"a 'type' key: {expected}"
    elif kind == "literal_error":
        choices = _choices_of(walk.annotation) if walk.annotation is not None else []
        if choices:
            expected = f"one of {', '.join(repr(c) for c in choices)}"
            expected += did_you_mean(value, [c for c in choices if isinstance(c, str)])
        else:
            expected = f"one of {ctx.get('expected', '')}"
    elif kind == "finite_number":
        expected = f"a finite number (not nan or inf){unit}{_meaning(info)}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        expected = _bound_text(ctx, unit) + _meaning(info)
    elif kind in ("too_short", "too_long"):
        lo, hi = _length_limits(info if walk.at_field else None, walk.annotation)
        n = lo if kind == "too_short" else hi
        kind_word = "value" if n == 1 else "values"
        if lo is not None and lo == hi:
            expected = f"exactly {lo} {kind_word}"
            if lo == 3:
                expected += " (x, y, z)"
        elif kind == "too_short":
            expected = f"at least {ctx.get('min_length', lo)} {kind_word}"
        else:
            expected = f"at most {ctx.get('max_length', hi)} {kind_word}"
        expected += unit + _meaning(info)
    elif kind == "list_type" and isinstance(walk.node, dict):
        name = format_path(parts)
        expected = f"an array of tables: write [[{name}]] (double brackets) before each entry{_meaning(info)}"
    elif kind == "list_type" and _accepts_scalar(info if walk.at_field else None):
        expected = f"a number, or an array of three numbers{unit}{_meaning(info)}"
    elif kind in ("model_type", "model_attributes_type", "dict_type") and _takes_string_form(info if walk.at_field
                                                                                             else None):
        expected = f"a table, or the string \"insulated\" or \"periodic\"{_meaning(info)}"
    elif kind in _TYPE_WORDS:
        expected = _TYPE_WORDS[kind]
        if kind.startswith(("float", "int")):
            expected += unit
        expected += _meaning(info)
    elif kind == "value_error":
        expected = str(error.get("msg", "")).removeprefix("Value error, ")
    else:
        expected = str(error.get("msg", kind))
    path = format_path(parts)
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
    return Problem(path or prefix or "(scenario)", _shown(value), expected)


def _accepts_scalar(info: FieldInfo | None) -> bool:
    """Whether a list field also takes a single number (PositiveTripleOrScalar)."""
    if info is None:
        return False
    from .schema import _scalar_to_triple

    return any(getattr(meta, "func", None) is _scalar_to_triple for meta in info.metadata)


def _takes_string_form(info: FieldInfo | None) -> bool:
    """Whether a table field also takes a string (a boundary face without parameters)."""
    if info is None:
        return False
    from .schema import _boundary_from_string

    def found(tp) -> bool:
        while typing.get_origin(tp) in (typing.Annotated, Union):
            if typing.get_origin(tp) is Union:
                return any(found(a) for a in typing.get_args(tp))
            if any(getattr(m, "func", None) is _boundary_from_string for m in tp.__metadata__):
                return True
            tp = typing.get_args(tp)[0]
        return False

    return any(getattr(m, "func", None) is _boundary_from_string for m in info.metadata) or found(info.annotation)


def _length_limits(info: FieldInfo | None, annotation: Any) -> tuple[int | None, int | None]:
    """min_length and max_length from a field's metadata and the annotation at the error."""
    metas = list(info.metadata) if info is not None else []
    tp = annotation
    while typing.get_origin(tp) in (typing.Annotated, Union):
        if typing.get_origin(tp) is Union:
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                break
            tp = members[0]
            continue
        metas.extend(tp.__metadata__)
        tp = typing.get_args(tp)[0]
    lo = hi = None
    for meta in metas:
        for item in getattr(meta, "metadata", None) or [meta]:
            if getattr(item, "min_length", None) is not None:
                lo = item.min_length
            if getattr(item, "max_length", None) is not None:
                hi = item.max_length
    return lo, hi


def problems_from_validation(exc: ValidationError, root: type[BaseModel], data: Any,
                             prefix: str = "", problems: Problems | None = None) -> Problems:
    """Record one Problem per error of ``exc`` (duplicates merged) and return the collector.

    Parameters
    ----------
    exc : pydantic.ValidationError
        From validating ``data`` against ``root``.
    root : type of BaseModel
        The model validated.
    data : object
        The input that was validated (for values and to recognise shorthand forms).
    prefix : str
        Key path of ``data`` within the scenario, prepended to every path.
    """
    problems = Problems() if problems is None else problems
    seen = set()
    for error in exc.errors(include_url=False):
        problem = _problem(error, root, data, prefix)
        key = (problem.path, repr(problem.value), problem.expected)
        if key not in seen:
            seen.add(key)
            problems.items.append(problem)
    return problems


def input_error_from_validation(exc: ValidationError, root: type[BaseModel], data: Any, context: str) -> InputError:
    """An :class:`~phototherm.errors.InputError` listing every error of ``exc``."""
    return InputError(context, problems_from_validation(exc, root, data).items)
