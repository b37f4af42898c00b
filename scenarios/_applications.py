"""``[applications.NAME]``: on-board applications chosen and configured by name.

Each application has its own config model (a :class:`ApplicationConfig`: ``enabled`` plus the
application's keys), looked up by name. The registry of record is the applications package
(``v2x.apps.app_config_model(name)``, written by the apps developer); until it exists, the
models below stand in for FCW, EBW and RLVW. ``Scenario.applications`` holds every known
application, with its defaults where the file does not name it.

Defaults and sources:

* **fcw** -- ``enabled = true`` (as before), ``ttc_threshold_s = 2.7`` (a commonly quoted FCW
  threshold, (to verify) against GB/T 33577 / T/CSAE 53-2020 Day-1 FCW), ``hold = "0.5 s"``
  (a warning is held that long after its last triggering step, as
  :class:`v2x.apps.ForwardCollisionWarning` does), ``range_m = 150`` (remotes beyond are
  ignored; placeholder, (to verify) by the apps developer).
* **ebw** -- emergency brake warning from the hardBraking event of received BSMs:
  ``enabled = false``, ``range_m = 300`` (T/CSAE 53-2020 EBW's effective range, (to verify)),
  ``max_age = "1 s"`` (information older than this is ignored; placeholder).
* **rlvw** -- red-light violation warning from received SPAT + MAP: ``enabled = false``,
  ``ttc_threshold_s = 3.0`` (time to reach the stop line below which a red/yellow warns) and
  ``range_m = 150`` (distance to the stop line within which RLVW looks): placeholders to be
  checked by the apps developer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError, ValidationInfo

from scenarios._fields import Duration, FieldProblem, Section, problem_of

__all__ = [
    "ApplicationConfig",
    "EbwConfig",
    "FcwConfig",
    "RlvwConfig",
    "application_models",
    "applications_json_schema",
    "dump_applications",
    "validate_applications",
]


class ApplicationConfig(Section):
    """What every application has: ``enabled``."""

    enabled: bool = Field(False, description="run this application")


class FcwConfig(ApplicationConfig):
    """Forward collision warning (see :mod:`v2x.apps._fcw`)."""

    enabled: bool = Field(True, description="run FCW")
    ttc_threshold_s: float = Field(2.7, gt=0.0, description="warn when TTC is below [s]")
    hold_ns: Duration = Field("0.5 s", alias="hold", validate_default=True,
                                description="keep a warning this long after its last cause")
    range_m: float = Field(150.0, gt=0.0, description="ignore remotes farther than [m]")


class EbwConfig(ApplicationConfig):
    """Emergency brake warning, from the hardBraking event of received BSMs."""

    range_m: float = Field(300.0, gt=0.0, description="warn for braking vehicles within [m]")
    max_age_ns: Duration = Field("1 s", alias="max_age", validate_default=True,
                                   description="ignore information older than this")


class RlvwConfig(ApplicationConfig):
    """Red-light violation warning, from received SPAT + MAP."""

    ttc_threshold_s: float = Field(3.0, gt=0.0,
                                   description="warn when the stop line is nearer than [s]")
    range_m: float = Field(150.0, gt=0.0, description="look at stop lines within [m]")


_STAND_IN: dict[str, type[ApplicationConfig]] = {
    "ebw": EbwConfig, "fcw": FcwConfig, "rlvw": RlvwConfig,
}


def application_models() -> dict[str, type[BaseModel]]:
    """Name -> config model of every registered application, sorted by name."""
    return dict(sorted(_STAND_IN.items()))


def validate_applications(value: Any, info: ValidationInfo) -> dict[str, BaseModel]:
    """Validate ``[applications]``: each table by its application's model; every known
    application is present in the result (defaults where the file does not name it).

    Raises FieldProblem naming ``NAME.key`` for a bad key of an application and ``NAME`` for
    an unknown application (the message lists the known ones).
    """
    if not isinstance(value, Mapping):
        # ValueError, not TypeError: pydantic turns ValueError into a validation error
        raise ValueError(f"expected a table, got {value!r}")  # noqa: TRY004
    models = application_models()
    out: dict[str, BaseModel] = {}
    for name, table in value.items():
        model = models.get(name)
        if model is None:
            raise FieldProblem(f"unknown application (known: {', '.join(models)})", key=name)
        if isinstance(table, model):
            out[name] = table
            continue
        try:
            out[name] = model.model_validate(table, context=info.context)
        except ValidationError as exc:
            key, message, bad = problem_of(exc, table)
            raise FieldProblem(message, key=f"{name}.{key}" if key else name, value=bad) \
                from None
    return {name: out[name] if name in out else model() for name, model in models.items()}


def dump_applications(apps: Mapping[str, BaseModel]) -> dict[str, Any]:
    """The TOML form of ``Scenario.applications``."""
    return {name: cfg.model_dump(by_alias=True) for name, cfg in apps.items()}


def applications_json_schema() -> dict[str, Any]:
    """JSON Schema of ``[applications]``: one table per known application."""
    props = {}
    for name, model in application_models().items():
        schema = model.model_json_schema(by_alias=True)
        schema.pop("title", None)
        props[name] = schema
    return {"type": "object", "properties": props, "additionalProperties": False,
            "description": "on-board applications by name: enabled + the application's keys"}
