"""``[applications.NAME]``: on-board applications chosen and configured by name.

Each application's configuration model is the one its application registered in
:mod:`v2x.apps` (``v2x.apps.app_config_model(name)``: ``enabled``, ``hold_s`` and the
application's own keys, with their defaults and sources in the application's module); the
scenario file names the applications it runs. ``Scenario.applications`` holds the ones the file
names (an application not named does not run; ``enabled = false`` keeps it named but off).

Known today (``v2x.apps.app_names()``): ``fcw`` (forward collision warning; ``use_rsm = true``
also on roadside-perceived vehicles), ``ebw`` (emergency brake warning), ``rlvw`` (red-light
violation warning), ``hlw`` (hazardous location warning from RSI events), ``slw`` (speed
limit warning from RSI signs); a user's package adds more through the ``v2x.apps`` entry
point group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError, ValidationInfo

from scenarios._fields import FieldProblem
from v2x.apps import AppConfig, app_config_model, app_names, config_problem

__all__ = [
    "ApplicationConfig",
    "application_models",
    "applications_json_schema",
    "dump_applications",
    "validate_applications",
]

#: what every application's settings have (``enabled``, ``hold_s``): v2x.apps.AppConfig
ApplicationConfig = AppConfig


def application_models() -> dict[str, type[BaseModel]]:
    """Name -> config model of every registered application, sorted by name."""
    return {name: app_config_model(name) for name in app_names()}


def validate_applications(value: Any, info: ValidationInfo | None = None) -> dict[str, BaseModel]:
    """Validate ``[applications]``: each table by its application's model; the result holds
    the applications the file names.

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
        if not isinstance(table, Mapping):
            raise FieldProblem(f"expected a table, got {table!r}", key=name, value=table)
        try:
            out[name] = model.model_validate(table)
        except ValidationError as exc:
            key, message, bad = config_problem(exc, model)
            raise FieldProblem(message, key=f"{name}.{key}" if key else name, value=bad) \
                from None
    return out


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
