"""Settings (frozen dataclasses with defaults) and the versioned threshold file."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from barback.analysis.imu import EXERCISES


@dataclass(frozen=True)
class Rule:
    """What every section of the threshold file says besides its numbers."""

    explanation: str
    cue: str
    source: str

    def numbers(self) -> dict[str, float]:
        """The section's numbers by name, for the explanation's {placeholders}."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type in ("float", float)}


@dataclass(frozen=True)
class VelocityLossRule(Rule):
    threshold_pct: float


@dataclass(frozen=True)
class LumbarFlexionRule(Rule):
    gain_deg: float
    pct_of_max: float
    explanation_pct: str


@dataclass(frozen=True)
class LumbarFlexionDriftRule(Rule):
    rise_deg: float


@dataclass(frozen=True)
class HipsRiseEarlyRule(Rule):
    trunk_rise_deg: float
    early_fraction: float
    explanation_trunk: str
    cue_trunk: str


@dataclass(frozen=True)
class LockoutHyperextensionRule(Rule):
    lean_back_deg: float
    lumbar_extension_deg: float


@dataclass(frozen=True)
class BarDriftRule(Rule):
    max_m: float


@dataclass(frozen=True)
class MaxAngleRule(Rule):
    max_deg: float


@dataclass(frozen=True)
class WarmUpRule(Rule):
    heavy_pct_e1rm: float
    window_min: float
    min_lighter_sets: float
    lighter_load_fraction: float
    faster_velocity_fraction: float
    slowest_margin: float


@dataclass(frozen=True)
class LoadCeilingRule(Rule):
    fault_share: float
    min_sessions: float
    min_loads: float
    bootstrap_draws: float


@dataclass(frozen=True)
class HingeScreenRule(Rule):
    hinges: float
    min_hinges: float
    min_trunk_deg: float
    min_hip_share: float
    explanation_flexion: str
    cue_flexion: str


@dataclass(frozen=True)
class QualityLimits:
    min_rate_for_velocity_hz: float
    max_gap_in_rep_s: float
    mv_uncertainty_mps: float
    gap_mv_uncertainty_mps_per_s: float
    fair_rate_hz: float
    plausible_mv_min_mps: float
    plausible_mv_max_mps: float
    plausible_flexion_max_deg: float
    plausible_extension_max_deg: float
    plausible_inclination_max_deg: float


@dataclass(frozen=True)
class ExerciseProfile:
    """What differs between lifts: the velocity at 1RM (the e1RM's minimum velocity threshold),
    the range of motion a completed rep can have, and the lumbar flexion limit."""

    mvt_mps: float
    rom_min_m: float
    rom_max_m: float
    lumbar_flexion_peak_deg: float
    source: str


# numbers that are fractions; every other number is a positive quantity
_FRACTIONS = {"early_fraction", "lighter_load_fraction", "slowest_margin", "fault_share", "min_hip_share"}


@dataclass(frozen=True)
class Thresholds:
    """The versioned threshold file, typed and validated (`load_thresholds`)."""

    version: str
    velocity_loss: VelocityLossRule
    lumbar_flexion: LumbarFlexionRule
    lumbar_flexion_drift: LumbarFlexionDriftRule
    hips_rise_early: HipsRiseEarlyRule
    lockout_hyperextension: LockoutHyperextensionRule
    bar_drift: BarDriftRule
    side_bend: MaxAngleRule
    twist: MaxAngleRule
    bar_tilt: MaxAngleRule
    warm_up: WarmUpRule
    load_ceiling: LoadCeilingRule
    hinge_screen: HingeScreenRule
    quality: QualityLimits
    exercise: dict[str, ExerciseProfile]  # by exercise name (analysis.imu.EXERCISES)

    def rule(self, flag: str) -> Rule:
        r = getattr(self, flag)
        assert isinstance(r, Rule), flag
        return r


_SECTION_TYPES: dict[str, type] = {
    "velocity_loss": VelocityLossRule, "lumbar_flexion": LumbarFlexionRule,
    "lumbar_flexion_drift": LumbarFlexionDriftRule, "hips_rise_early": HipsRiseEarlyRule,
    "lockout_hyperextension": LockoutHyperextensionRule, "bar_drift": BarDriftRule,
    "side_bend": MaxAngleRule, "twist": MaxAngleRule, "bar_tilt": MaxAngleRule, "warm_up": WarmUpRule,
    "load_ceiling": LoadCeilingRule, "hinge_screen": HingeScreenRule, "quality": QualityLimits,
}


def _number(where: str, value: Any, fraction: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number, not {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0 or (fraction and v >= 1):
        raise ValueError(f"{where} = {value!r} is out of range ({'between 0 and 1' if fraction else 'above 0'})")
    return v


def load_thresholds(path: str | Path | None = None, overrides: dict[str, float] | None = None) -> Thresholds:
    """Read the threshold file (the bundled one by default), apply `section.key=value` overrides
    and validate it all: every section and number present, numbers finite and in range, no
    unknown keys. Raises KeyError for an unknown key, ValueError for a bad value."""
    if path is None:
        text = resources.files("barback.analysis").joinpath("thresholds.toml").read_text()
    else:
        text = Path(path).read_text()
    raw = tomllib.loads(text)
    profiles = raw.pop("exercise", None)
    if not isinstance(profiles, dict):
        raise KeyError("threshold section [exercise] is missing")
    if set(profiles) != set(EXERCISES):
        odd = sorted(set(profiles) ^ set(EXERCISES))
        raise KeyError(f"threshold section [exercise] must have one table per exercise ({', '.join(EXERCISES)}); "
                       f"check {', '.join(odd)}")
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if section == "exercise":  # exercise.sumo_deadlift.mvt_mps=0.2
            name, _, key = key.partition(".")
            if name not in profiles or key not in {f.name for f in fields(ExerciseProfile) if f.type in ("float", float)}:
                raise KeyError(f"unknown threshold {dotted!r}")
            profiles[name][key] = value
            continue
        cls = _SECTION_TYPES.get(section)
        if cls is None or key not in {f.name for f in fields(cls) if f.type in ("float", float)}:
            raise KeyError(f"unknown threshold {dotted!r}")
        raw.setdefault(section, {})[key] = value
    unknown = set(raw) - set(_SECTION_TYPES) - {"version"}
    if unknown:
        raise KeyError(f"unknown threshold section(s) {', '.join(sorted(unknown))}")
    sections = {name: _section(f"exercise.{name}", ExerciseProfile, sec) for name, sec in profiles.items()}
    for name, prof in sections.items():
        if prof.rom_min_m >= prof.rom_max_m:
            raise ValueError(f"exercise.{name}: rom_min_m must be below rom_max_m")
    out: dict[str, Any] = {"exercise": sections}
    for name, cls in _SECTION_TYPES.items():
        sec = raw.get(name)
        if not isinstance(sec, dict):
            raise KeyError(f"threshold section [{name}] is missing")
        out[name] = _section(name, cls, sec)
    return Thresholds(version=str(raw.get("version", "")), **out)


def _section(name: str, cls: type, sec: Any):
    """One section of the threshold file as its typed object: every field present, no others,
    numbers in range, texts text."""
    if not isinstance(sec, dict):
        raise KeyError(f"threshold section [{name}] is not a table")
    known = {f.name: f.type for f in fields(cls)}
    extra = set(sec) - set(known)
    if extra:
        raise KeyError(f"unknown threshold {name}.{sorted(extra)[0]}")
    missing = set(known) - set(sec)
    if missing:
        raise KeyError(f"threshold {name}.{sorted(missing)[0]} is missing")
    values = {}
    for key, typ in known.items():
        if typ in ("float", float):
            values[key] = _number(f"{name}.{key}", sec[key], key in _FRACTIONS)
        elif not isinstance(sec[key], str):
            raise ValueError(f"{name}.{key} must be text")
        else:
            values[key] = sec[key]
    return cls(**values)


@dataclass(frozen=True)
class PipelineSettings:
    """Algorithm parameters. Units in names; every field has a default."""

    still_window_s: float = 0.2
    still_gyro_dps: float = 5.0
    still_acc_dev_g: float = 0.03
    # still detection adapts to the sensor's own noise floor, read in its quietest windows
    still_noise_quantile: float = 0.05  # the share of windows taken as the quietest
    still_gyro_noise_factor: float = 3.0  # rotation limit: this many times the gyro's noise spread
    still_acc_noise_factor: float = 4.0  # |f| steadiness limit: this many times the accelerometer's noise
    still_acc_noise_cap_factor: float = 3.0  # ... and never above this many times it (or the floor below)
    still_acc_std_floor_mps2: float = 0.02
    still_acc_std_max_g: float = 0.05  # a sensor noisier than this uses this limit
    still_gravity_dev_g: float = 0.1  # a rest's |f| lies within this of the recording's median |f|
    still_trend_min_mps2: float = 0.04  # a trend of |f| across a run's thirds above this (and above
    still_trend_sigmas: float = 6.0  # this many sigmas of noise) is a slow push, not a rest
    still_long_rest_s: float = 1.0  # rests this long measure local gravity
    still_short_rest_tol_g: float = 0.01  # a shorter rest must match local gravity within this
    tilt_gain_per_s: float = 0.15  # complementary filter: accelerometer pull on the tilt estimate
    tilt_gain_still_per_s: float = 2.0
    # the lumbar sensors' angles are worked out at no more than this rate (block means of the
    # samples): a trunk bends and straightens well below 5 Hz, and a 200 Hz stream costs four
    # times the work of 50 Hz for the same angles. None keeps the sensor's own rate.
    lumbar_rate_hz: float | None = 100.0
    set_gap_s: float = 30.0
    min_rom_m: float = 0.15
    min_rom_bench_m: float = 0.12
    max_rom_m: float = 1.2  # no barbell lift rises further: a longer stroke is integration drift
    min_peak_velocity_mps: float = 0.06
    eccentric_first_window_s: float = 6.0
    # rep segmentation (segmentation.find_reps)
    rest_speed_mps: float = 0.006  # slower than this the bar is at rest (phase ends, eccentric bounds)
    min_stroke_swing_m: float = 0.04  # turnarounds of the bar's height closer than this are one
    rhythm_fraction: float = 0.6  # a stroke this share of the set's typical one is in its rhythm
    min_concentric_s: float = 0.1  # a rise shorter than this is a jolt, not a rep
    # a set's last rise, its stop received whole, is a rep only if the bar's measured acceleration
    # stops it: at least this share of its speed lost from the peak to the top. A rise that the
    # track's anchoring ends (a set-down's impact, sampled too sparsely to integrate, leaves a
    # velocity step that the rest after it removes) is no lift
    min_stop_explained: float = 0.3
    eccentric_first_depth: float = 0.5  # a squat/bench descent this share of the rise deep precedes a rep
    rhythm_reach_periods: float = 1.6  # a broken stroke within this many rep periods of a measured rep
    lowpass_hz: float = 12.0
    partial_rom_fraction: float = 0.4  # a stroke shorter than this share of the set's median range is no rep
    partly_lost_fraction: float = 0.15  # a rep in the rhythm, partly seen, is counted when this share of it was lost
    open_end_max_speed_fraction: float = 0.3  # a rise this fast (share of its peak) when the data end was not seen to end
    # a rise at the very start of a squat or bench recording, with no descent seen before it, is a
    # rep only when it is as long as the set's own (the withheld-value rule: 35 % off the median)
    opening_min_rom_fraction: float = 0.65
    opening_max_duration: float = 1.5  # x the set's median concentric phase
    sway_tail_s: float = 0.08  # a tail this much longer than the higher levels foretell was held up by sway
    # a rep whose rise a gap hid, known by its full descent (segmentation._reps_beside_their_counter_strokes):
    counter_stroke_min_lost: float = 0.2  # at least this share lost where its rise belongs
    counter_stroke_clear_periods: float = 0.25  # and no rep within this many rep periods of that place
    inferred_concentric_share: float = 0.4  # of the rep period, where no measured rep gives the set's own
    # reps found by the set's acceleration pattern (segmentation._reps_by_pattern)
    pattern_rate_hz: float = 25.0  # the rate the pattern is matched at
    pattern_min_ncc: float = 0.75  # correlation with the set's pattern, over what was received
    pattern_min_received: float = 0.4  # share of the pattern's span received there
    # where less was received (a rep's rise lost in bursts), a closer match still counts
    pattern_sparse_min_received: float = 0.15
    pattern_sparse_min_ncc: float = 0.9
    pattern_gain: tuple[float, float] = (0.5, 2.0)  # the pattern's scale there: a lifter's strength, not a shuffle
    pattern_reach_periods: float = 1.3  # within this many rep periods of a rep
    pattern_far_reach_periods: float = 2.3  # for a match of pattern_far_min_ncc (the rep between lost whole)
    pattern_far_min_ncc: float = 0.8
    pattern_min_separation_periods: float = 0.6  # no closer than this to a rep
    pattern_edge_max_received: float = 0.9  # beyond a set's first or last rep, only where data were lost
    # sessions of more samples than this (all sensors) run the bar's and the lumbar sensors' paths on two threads
    thread_min_samples: int = 200_000
    # gaps and attitude (timebase, orientation)
    lumbar_max_lost_fraction: float = 0.2  # of a pull a lumbar sensor may lose before its angles are withheld
    max_bridge_s: float = 0.35  # data gaps up to this long are bridged (interpolated through); longer ones break
    tilt_warmup_s: float = 60.0  # the pass that starts the backward tilt pass covers this much of the end
    # the bar's track (bar.track_bar)
    half_period_velocity_min: float = 0.3  # the velocity repeats itself this well at half the period: it is the period
    half_period_check_hz: float = 25.0  # the rate that check works at
    quiet_acc_mps2: float = 0.3  # a turnaround this quiet (vertical acceleration) is a pause
    edge_hold_s: float = 0.5  # a quiet run this long at the end of the data is a pause (no cruise lasts it)
    hold_max_speed_mps: float = 0.08  # a hold moves slower than this ...
    hold_max_speed_fraction: float = 0.3  # ... or than this share of the set's fast strokes
    # how far the running mean of vertical specific force can be from g over a set (measured on the
    # commodity simulations: within 0.1 m/s²); a "rest" further off is a steady acceleration
    gravity_agreement_mps2: float = 0.25
    rest_trim_sigmas: float = 2.0  # a still run's integrated speed within this many noise random walks is rest
    rest_trim_min_speed_mps: float = 0.04
    rest_trim_max_run_s: float = 4.0
    # the standing height closed between reps (bar.standing_closure): the lifts it is used for
    # (a Romanian deadlift's mean velocity got worse with it, 0.039 -> 0.045 m/s on the bench seeds),
    # how much a standing height may vary, and the turnarounds' prior speed errors
    closure_exercises: tuple[str, ...] = ("squat",)
    closure_height_m: float = 0.05
    closure_pinned_mps: float = 0.003
    closure_anchor_mps: float = 0.03
    closure_per_lost_s: float = 0.5  # m/s per second of data lost within 0.6 s of the turnaround
    # a rep's range of motion and its own lowering (pipeline._rom_with_its_lowering): combined; or,
    # further apart than the larger of these, the track drifted and the rep's numbers are withheld
    rom_with_lowering: bool = True
    rom_pair_max_dev_m: float = 0.10
    rom_pair_max_dev_fraction: float = 0.20
    # lifts whose bar is put on the floor between reps (bar.turnaround_holds: a pause there after
    # a long gap is pinned by where it lies)
    floor_exercises: tuple[str, ...] = ("deadlift", "sumo_deadlift", "trap_bar_deadlift")
    # lumbar angles
    bar_axis_rest_s: float = 1.0  # rests this long show the bar level
    bar_axis_rest_spread_deg: float = 8.0  # how far apart in roll the rests must be to give the axis
    bar_tilt_smooth_s: float = 0.2
    lockout_sample_s: float = 0.25  # after each rep's concentric end, the lifter stands at lockout this long
    # a quiet standing and the lockouts agree within a few degrees (more with a lean-back at
    # lockout); a still posture further off is a set-up over the bar, not standing
    lockout_agreement_deg: float = 15.0
    calibration_max_bends: int = 2  # the calibration routine bends once; a second try is allowed
