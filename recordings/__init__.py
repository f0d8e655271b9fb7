"""Recordings shipped with barback: the demo deadlift session (a native recording of three
emulated WitMotion sensors) and the native format's description (FORMAT.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path


@contextlib.contextmanager
def demo_recording() -> Iterator[Path]:
    """The demo recording's folder, as a real path for as long as the context is open (a zip
    install extracts it to a temporary folder)."""
    with resources.as_file(resources.files(__name__).joinpath("demo_deadlift")) as path:
        yield Path(path)
