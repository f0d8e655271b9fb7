"""Optional features and the extras that bring them (pyproject's optional-dependencies)."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module`, or raise MissingExtra with one line a user can act on."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{feature} needs the optional package {module.split('.')[0]!r}: "
                           f"pip install 'barback[{extra}]'") from None
