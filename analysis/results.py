"""Typed results. Every number has its unit in its name; missing means not measurable (None)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from barback.analysis.units import G0_MPS2

SCHEMA_VERSION = "1.0"


def count_flags(flag_names_per_rep: Iterable[Iterable[str]]) -> dict[str, int]:
    """How many reps raised each flag: the one count for sets, sessions, reports and trends."""
    counts: dict[str, int] = {}
    for names in flag_names_per_rep:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


@dataclass(frozen=True)
class FlagResult:
    name: str
    value: float
    explanation: str
    cue: str


@dataclass
class RepResult:
    set: int
    rep: int
    concentric_start_s: float
    concentric_end_s: float
    peak_velocity_time_s: float
    eccentric_start_s: float | None
    eccentric_end_s: float | None
    lockout_end_s: float
    setup_start_s: float | None
    mean_velocity_mps: float
    peak_velocity_mps: float
    rom_m: float
    time_to_peak_velocity_s: float
    velocity_loss_pct: float | None = None
    bar_drift_m: float | None = None
    peak_lumbar_flexion_deg: float | None = None
    peak_lumbar_flexion_pct_max: float | None = None  # with a calibrated maximal flexion
    lumbar_flexion_gain_deg: float | None = None  # flexion gained during the pull over its start
    lumbar_flexion_rise_deg: float | None = None  # the fitted rise of peak flexion from the set's first rep to this one
    peak_trunk_inclination_deg: float | None = None
    hip_rise_deg: float | None = None
    # what hip_rise_deg follows: "pelvis" (the sacral sensor: hips alone), or "trunk" (one upper
    # lumbar sensor: pelvis tilt plus lumbar flexion, so a rounding back looks the same)
    hip_rise_from: str | None = None
    lockout_lean_back_deg: float | None = None
    lockout_lumbar_extension_deg: float | None = None
    # the spine between the sensors during the pull, against the rep's lockout: to the right
    # positive (side bend: the upper trunk tilting right; twist: the chest turning right)
    peak_side_bend_deg: float | None = None
    peak_twist_deg: float | None = None
    bar_tilt_deg: float | None = None  # the bar's long axis from level during the pull (one hand higher), unsigned
    flags: list[FlagResult] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    # "good": clean data through the concentric phase; "fair": estimated through a short gap or
    # at a low sample rate (see the uncertainty); "poor": counted, velocity and ROM withheld
    quality_grade: str = "good"
    mean_velocity_uncertainty_mps: float | None = None

    @property
    def flag_names(self) -> list[str]:
        return [f.name for f in self.flags]


@dataclass
class SetResult:
    set: int
    n_reps: int
    start_s: float
    end_s: float
    best_mean_velocity_mps: float
    mean_of_mean_velocity_mps: float
    last_rep_velocity_loss_pct: float
    max_velocity_loss_pct: float
    load_kg: float | None
    flag_counts: dict[str, int]


@dataclass
class SensorSummary:
    role: str
    n_samples: int
    fs_hz: float
    duration_s: float
    timestamps_regularized: bool
    gaps_s: list[tuple[float, float]]
    still_periods: int


@dataclass(frozen=True)
class WarmUpResult:
    """The warm-up check of a session (analysis.warmup)."""

    heavy_set: int | None  # the first heavy set (None: not judged, see `note`)
    heavy_by: str  # "e1rm" (load against the athlete's e1RM), "velocity" (the athlete's velocity
    # at that load), "load" or "velocity_in_session" (the session's heaviest or slowest sets)
    lighter_sets_before: tuple[int, ...] = ()  # lighter sets begun in the window before it
    warned: bool = False
    explanation: str | None = None
    cue: str | None = None
    note: str | None = None  # why it was not judged, or how
    warm_up_flexion_deg: float | None = None  # mean peak lumbar flexion of the lighter sets' reps
    heavy_flexion_deg: float | None = None  # of the heavy set's reps
    flexion_by_set: dict[int, float] = field(default_factory=dict)


@dataclass
class SessionResult:
    exercise: str
    source: str
    reps: list[RepResult]
    sets: list[SetResult]
    warnings: list[str]
    sensors: list[SensorSummary]
    thresholds_version: str
    has_lumbar_flexion: bool
    has_trunk_inclination: bool
    timing: dict[str, float] = field(default_factory=dict)
    series: Any = None  # time series for plots (not serialised)
    athlete: str | None = None  # from the session's metadata, when given
    date: str | None = None  # ISO date of the session, when known
    warm_up: WarmUpResult | None = None

    @property
    def flag_counts(self) -> dict[str, int]:
        return count_flags(r.flag_names for r in self.reps)

    @property
    def quality_grade(self) -> str:
        """The session's grade: "good" when at least 80 % of reps are good and none withheld,
        "poor" when half or more are poor, else "fair" (and "none" without reps)."""
        if not self.reps:
            return "none"
        grades = [r.quality_grade for r in self.reps]
        if grades.count("poor") * 2 >= len(grades):
            return "poor"
        if grades.count("good") >= 0.8 * len(grades) and "poor" not in grades:
            return "good"
        return "fair"

    def to_dict(self) -> dict:
        d = {
            "schema_version": SCHEMA_VERSION,
            "exercise": self.exercise,
            "athlete": self.athlete,
            "date": self.date,
            "source": self.source,
            "thresholds_version": self.thresholds_version,
            "quality_grade": self.quality_grade,
            "reps": [_rep_dict(r) for r in self.reps],
            "sets": [asdict(s) for s in self.sets],
            "warnings": list(self.warnings),
            "sensors": [asdict(s) for s in self.sensors],
            "warm_up": asdict(self.warm_up) if self.warm_up is not None else None,
        }
        return _clean(d)


def _rep_dict(r: RepResult) -> dict:
    d = asdict(r)
    d["flags"] = [f.name for f in r.flags]
    d["flag_details"] = [asdict(f) for f in r.flags]
    return d


def _clean(x):
    """JSON-safe: NaN/inf become null, floats rounded to what the sensors can support."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return round(x, 5)
    if hasattr(x, "item"):  # numpy scalar
        return _clean(x.item())
    return x


def sided_deg(value: float | None) -> str:
    """A signed side angle (to the right positive) in words: "6° R", "12° L", "0°"; "–" unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    if round(abs(value)) == 0:
        return "0°"
    return f"{abs(value):.0f}° {'R' if value > 0 else 'L'}"


def mean_power_w(load_kg: float | None, mean_velocity_mps: float) -> float | None:
    """Mean concentric power of a lift: load x g x mean velocity (the work against gravity over
    the rise's duration; the bar's own speeding up and slowing down average out). None without a load."""
    if not load_kg or not math.isfinite(mean_velocity_mps):
        return None
    return float(load_kg * G0_MPS2 * mean_velocity_mps)
