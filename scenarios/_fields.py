"""Building blocks of the scenario model (pydantic v2): sections, field types, error mapping.

Every section of ``scenario.toml`` is a :class:`Section`: a frozen pydantic model that refuses
unknown keys (a typo must not silently fall back to a default) and converts nothing silently
(strict mode: ``lanes = "2"`` or ``enabled = 1`` are errors; an integer is accepted where a
float is expected). Field types for what TOML cannot say by itself:

* :data:`Duration`, :data:`DurationOrZero` (:func:`duration_parser` for bounds) -- a
  duration string with a unit (``"100 ms"``, parsed by :func:`v2x.units.parse_duration`),
  held as integer nanoseconds; dumped back as a string.
* :data:`ScenarioFile` -- a path relative to the scenario folder, which must exist; held
  absolute.
* ``Annotated[tuple[X, ...], AS_TUPLE]`` -- a TOML array held as a tuple.

:func:`config_error` maps pydantic's ``ValidationError`` to the project's
:class:`~v2x.errors.ConfigError` at the boundary: the dotted key (``events[2].trigger.value``),
the bad value (as written in the file) and a short message. A validator that finds a problem
with a key other than its own raises :class:`FieldProblem` naming that key.

Validation context (``model_validate(raw, context=...)``): ``folder`` (:class:`~pathlib.Path`,
where relative paths are resolved; default the working directory).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar
from xml.parsers import expat

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from scenarios._limits import MAX_DURATION_NS
from v2x.errors import ConfigError
from v2x.units import format_duration, parse_duration

__all__ = [
    "AS_TUPLE",
    "DURATION_PATTERN",
    "DURATION_SCHEMA",
    "DURATION_TEXT",
    "Duration",
    "DurationOrZero",
    "FieldProblem",
    "RouteFile",
    "ScenarioFile",
    "Section",
    "config_error",
    "duration_parser",
    "problem_of",
    "sumo_xml",
    "xml_problem",
]

#: JSON Schema pattern of a duration string (what :func:`v2x.units.parse_duration` reads)
DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(ns|us|µs|ms|s|sec|min|h)\s*$"

_NO_VALUE = object()


class FieldProblem(ValueError):
    """A validation problem of the key ``key``, relative to the model (or field) that raises it.

    ``key`` uses the file's dotted form (``"rsu.spat_period"``, ``"[2].x"``, ``""`` for the
    model itself). ``value`` is the bad value; left out, the value written in the file at that
    key is reported.
    """

    def __init__(self, message: str, *, key: str = "", value: Any = _NO_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.value = value


class Section(BaseModel):
    """Base of every ``scenario.toml`` section: frozen, strict, unknown keys refused.

    Keys are the TOML names (pydantic aliases where the attribute carries a unit suffix, e.g.
    ``duration`` -> ``duration_ns``). ``model_dump(by_alias=True)`` gives the TOML form back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    #: what an unknown key is called in the error ("key", "application", ...)
    _unknown_what: ClassVar[str] = "key"

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = cls.toml_keys()
            unknown = [k for k in data if k not in known]
            if unknown:
                raise FieldProblem(f"unknown {cls._unknown_what} (known: "
                                   f"{', '.join(sorted(known))})", key=str(unknown[0]))
        return data

    @classmethod
    def toml_keys(cls) -> set[str]:
        """The keys this section accepts in ``scenario.toml``."""
        return {f.alias or name for name, f in cls.model_fields.items()}


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


#: a TOML array held as a tuple: ``Annotated[tuple[X, ...], AS_TUPLE]``
AS_TUPLE = BeforeValidator(_as_tuple)


def _format(ns: int) -> str:
    return format_duration(ns) if ns else "0 s"


def duration_parser(*, positive: bool = True, lo_ns: int | None = None,
                    hi_ns: int = MAX_DURATION_NS) -> BeforeValidator:
    """The validator of a duration field: a string with a unit in the file, integer
    nanoseconds in the model.

    Args:
        positive: refuse zero (negative durations cannot be written).
        lo_ns, hi_ns: inclusive bounds [ns]; every duration is at most 24 h
            (:data:`scenarios._limits.MAX_DURATION_NS`).

    A :class:`datetime.timedelta` is accepted too (Python builders), exact to the microsecond.
    """

    def parse(value: Any) -> int:
        if isinstance(value, dt.timedelta):
            ns = ((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * 1000
        else:
            if not isinstance(value, str):
                raise ValueError(  # noqa: TRY004 (pydantic maps ValueError)
                    f"expected a duration string with a unit such as '100 ms', got {value!r}")
            try:
                ns = parse_duration(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        if ns < 0 or (positive and ns == 0):
            raise ValueError(f"must be a positive duration, got {value!r}")
        if lo_ns is not None and not lo_ns <= ns <= hi_ns:
            raise ValueError(f"must lie between {format_duration(lo_ns)} and "
                             f"{format_duration(hi_ns)}, got {value!r}")
        if ns > hi_ns:
            longest = " (the longest scenario)" if hi_ns == MAX_DURATION_NS else ""
            raise ValueError(f"must be at most {format_duration(hi_ns)}{longest}, "
                             f"got {value!r}")
        return ns

    return BeforeValidator(parse)


#: how a duration is written back (``model_dump``) and described in the JSON Schema
DURATION_TEXT = PlainSerializer(_format)
DURATION_SCHEMA = WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN,
                                  "description": "a duration with a unit ('100 ms'), at "
                                                 "most 24 h"})

#: a positive duration: a string with a unit in the file, integer nanoseconds in the model
Duration = Annotated[int, duration_parser(), DURATION_TEXT, DURATION_SCHEMA]
#: a duration that may be zero (an instant after the start: ``at``, ``begin``, ``depart``)
DurationOrZero = Annotated[int, duration_parser(positive=False), DURATION_TEXT,
                           DURATION_SCHEMA]


def _scenario_file(value: Any, info: ValidationInfo) -> Path:
    if isinstance(value, Path):
        raw = value
    elif isinstance(value, str) and value:
        raw = Path(value)
    else:
        raise ValueError(f"expected a file path string, got {value!r}")
    folder = (info.context or {}).get("folder") or Path.cwd()
    path = (Path(folder) / raw).resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


#: a file path, relative to the scenario folder; must exist; held absolute
ScenarioFile = Annotated[Path, BeforeValidator(_scenario_file), PlainSerializer(str),
                         WithJsonSchema({"type": "string"})]


def xml_problem(path: Path, roots: tuple[str, ...]) -> str | None:
    """What is wrong with ``path`` as an XML file whose root element is one of ``roots``
    (``None``: nothing). The whole file is read by expat, a chunk at a time, so a truncated
    file (a copy cut short, a download stopped) is found before SUMO or sumolib read it;
    the answer is kept for the file's size and modification time."""
    st = path.stat()
    return _xml_problem(str(path), roots, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _xml_problem(path: str, roots: tuple[str, ...], size: int, mtime_ns: int) -> str | None:
    del size, mtime_ns  # the cache key: a changed file is read again
    found: list[str] = []

    def start(name: str, attrs: Any) -> None:
        if not found:
            found.append(name)
            if name not in roots:
                raise _WrongRoot(name)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _WrongRoot as exc:
        want = " or ".join(f"<{r}>" for r in roots)
        return f"its root element is <{exc.args[0]}>, not {want}"
    except expat.ExpatError as exc:
        code = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
        if not found:
            return f"not XML ({code}, line {exc.lineno}, column {exc.offset})"
        ended = "; the file is truncated" if exc.lineno >= _last_line(path) else ""
        return f"broken XML ({code}, line {exc.lineno}, column {exc.offset}){ended}"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    return None


class _WrongRoot(Exception):
    pass


def _last_line(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) + 1


def sumo_xml(roots: tuple[str, ...], what: str) -> AfterValidator:
    """The validator of a SUMO XML input (after :data:`ScenarioFile`): the whole file is
    well-formed XML with one of ``roots`` as its root element; ``what`` names it in the
    error (``"not a SUMO network: ..."``)."""

    def check(path: Path) -> Path:
        problem = xml_problem(path, roots)
        if problem is not None:
            raise ValueError(f"not a {what}: {problem}: {path}")
        return path

    return AfterValidator(check)


#: a SUMO route file (``<routes>``, or ``<additional>`` holding routes) as :data:`ScenarioFile`,
#: checked to be whole, well-formed XML before SUMO reads it
RouteFile = Annotated[ScenarioFile, sumo_xml(("routes", "additional"), "SUMO route file")]


# --- pydantic ValidationError -> ConfigError ------------------------------------------------

def problem_of(exc: ValidationError, raw: Any) -> tuple[str, str, Any]:
    """The first error of ``exc`` as ``(dotted key, message, bad value)``.

    ``raw`` is the input that was validated (the TOML dict): the key is found by walking it
    along pydantic's location, leaving out the tags pydantic inserts for discriminated unions
    (``("network", "grid", "lanes")`` -> ``network.lanes``), and list indices become ``[i]``.
    """
    err = exc.errors(include_url=False)[0]
    loc: tuple[Any, ...] = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    problem = cause if isinstance(cause, FieldProblem) else None
    parts: list[str] = []
    data: Any = raw
    tag_skipped_in: int | None = None
    for i, elem in enumerate(loc):
        # the last element names a field, unless the error is about a whole model
        last = i == len(loc) - 1 and problem is None
        if isinstance(elem, int):
            parts.append(f"[{elem}]")
            ok = isinstance(data, Sequence) and not isinstance(data, str)
            data = data[elem] if ok and -len(data) <= elem < len(data) else None
            continue
        if isinstance(data, Mapping):
            is_tag = elem in (data.get("kind"), data.get("type"))
            if is_tag and not last and tag_skipped_in != id(data):
                tag_skipped_in = id(data)
                continue
            if elem in data:
                parts.append(str(elem))
                data = data[elem]
                tag_skipped_in = None
                continue
            if not last:  # a union tag pydantic added (Tag(...) name): not a key of the file
                continue
        elif data is not None:  # a name under a value that is no table: a union tag
            continue
        parts.append(str(elem))
        data = None
    key = _join(parts)
    etype = err["type"]
    if problem is not None:
        key = _join([key, problem.key]) if problem.key else key
        value = problem.value if problem.value is not _NO_VALUE else \
            _lookup(raw, key, default=None)
        return key, problem.message, value
    if isinstance(cause, ValueError):
        return key, str(cause), err.get("input")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if etype in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "kind")).strip("'")
        key = _join([key, disc])
        value = value.get(disc) if isinstance(value, Mapping) else None
        if etype == "union_tag_not_found":
            return key, "required key is missing", None
        return key, f"must be one of {ctx.get('expected_tags')}, got {value!r}", value
    if etype == "missing":
        return key, "required key is missing", None
    return key, _message(etype, err["msg"], ctx, value), value


def _message(etype: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    types = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
             "string_type": "a string", "tuple_type": "an array", "dict_type": "a table",
             "model_type": "a table", "model_attributes_type": "a table", "list_type": "an array",
             "int_from_float": "an integer"}
    if etype in types:
        return f"expected {types[etype]}, got {value!r}"
    ops = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
    if etype in ops:
        op, name = ops[etype]
        return f"must be {op} {ctx.get(name)}, got {value!r}"
    if etype == "finite_number":
        return f"expected a finite number, got {value!r}"
    if etype == "literal_error":
        return f"must be {ctx.get('expected')}, got {value!r}"
    if etype == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}, got {value!r}"
    return msg


def _join(parts: Sequence[str]) -> str:
    out = ""
    for p in parts:
        if not p:
            continue
        out = f"{out}{p}" if not out or p.startswith("[") else f"{out}.{p}"
    return out


def _lookup(raw: Any, key: str, *, default: Any) -> Any:
    """The value at a dotted key with ``[i]`` indices in nested dicts and lists."""
    data = raw
    for token in _tokens(key):
        if isinstance(token, int):
            ok = isinstance(data, Sequence) and not isinstance(data, str)
            if not ok or not -len(data) <= token < len(data):
                return default
            data = data[token]
        elif isinstance(data, Mapping) and token in data:
            data = data[token]
        else:
            return default
    return data


def _tokens(key: str) -> list[str | int]:
    out: list[str | int] = []
    for part in key.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            out.append(int(idx))
            rest = rest.removeprefix("[")
    return out


def config_error(exc: ValidationError, raw: Any, *, file: object) -> ConfigError:
    """A :class:`ConfigError` naming ``file``, the dotted key and the bad value of ``exc``."""
    key, message, value = problem_of(exc, raw)
    return ConfigError(message, file=file, key=key or None, value=value)
