"""The user cache folder shared by generated networks (:mod:`scenarios`) and the compiled
ASN.1 specification (:mod:`v2x.messages`)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """Where generated files are cached: ``$V2X_CACHE``, else ``$XDG_CACHE_HOME/v2x-testbed``,
    else ``~/.cache/v2x-testbed``. Not created here."""
    root = os.environ.get("V2X_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "v2x-testbed"
