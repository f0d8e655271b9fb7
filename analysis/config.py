"""Settings (frozen dataclasses with defaults) and the versioned threshold file."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

Thresholds = dict[str, Any]


def load_thresholds(path: str | Path | None = None, overrides: dict[str, float] | None = None) -> Thresholds:
    """Read the threshold file (the bundled one by default) and apply `section.key=value` overrides."""
    if path is None:
        text = resources.files("barback.analysis").joinpath("thresholds.toml").read_text()
    else:
        text = Path(path).read_text()
    th = tomllib.loads(text)
    th = copy.deepcopy(th)
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if section not in th or key not in th[section]:
            raise KeyError(f"unknown threshold {dotted!r}")
        th[section][key] = float(value)
    return th


@dataclass(frozen=True)
class PipelineSettings:
    """Algorithm parameters. Units in names; every field has a default."""

    still_window_s: float = 0.2
    still_gyro_dps: float = 5.0
    still_acc_dev_g: float = 0.03
    tilt_gain_per_s: float = 0.15  # complementary filter: accelerometer pull on the tilt estimate
    tilt_gain_still_per_s: float = 2.0
    set_gap_s: float = 30.0
    min_rom_m: float = 0.15
    min_rom_bench_m: float = 0.12
    max_rom_m: float = 1.2  # no barbell lift rises further: a longer stroke is integration drift
    min_peak_velocity_mps: float = 0.06
    eccentric_first_window_s: float = 6.0
    lowpass_hz: float = 12.0
