"""The recorder: Parquet tables of a run plus online KPI aggregates (docs/recording.md)."""

from v2x.recorder._aggregates import MSG_TYPES, Histogram, PairClock, PrrBins
from v2x.recorder._writer import (
    RUN_FILES,
    SCHEMAS,
    Binary,
    Categorical,
    Recorder,
    binary,
    categorical,
)

__all__ = [
    "MSG_TYPES",
    "RUN_FILES",
    "SCHEMAS",
    "Binary",
    "Categorical",
    "Histogram",
    "PairClock",
    "PrrBins",
    "Recorder",
    "binary",
    "categorical",
]
