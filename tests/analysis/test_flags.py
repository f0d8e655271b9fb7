"""Form flags, table-driven: each row is a rep's metrics and the flags a coach expects of them.

The thresholds are set here (overrides of the shipped file) so that every expected answer follows
from the numbers in this table alone."""

import math

import pytest

from barback.analysis.config import load_thresholds
from barback.analysis.flags import evaluate_rep_flags, velocity_loss_pct

TH = load_thresholds(overrides={
    "velocity_loss.threshold_pct": 20.0, "exercise.deadlift.lumbar_flexion_peak_deg": 40.0,
    "exercise.squat.lumbar_flexion_peak_deg": 40.0, "exercise.sumo_deadlift.lumbar_flexion_peak_deg": 30.0,
    "lumbar_flexion.gain_deg": 8.0, "side_bend.max_deg": 8.0, "twist.max_deg": 6.0, "bar_tilt.max_deg": 4.0,
    "lumbar_flexion.pct_of_max": 70.0, "lumbar_flexion_drift.rise_deg": 10.0,
    "hips_rise_early.trunk_rise_deg": 10.0, "lockout_hyperextension.lean_back_deg": 10.0,
    "lockout_hyperextension.lumbar_extension_deg": 10.0, "bar_drift.max_m": 0.05,
})

CASES = [
    # (exercise, metrics, {flag: value})
    ("deadlift", {}, {}),
    ("deadlift", {"velocity_loss_pct": 25.0}, {"velocity_loss": 25.0}),
    ("deadlift", {"velocity_loss_pct": 19.9}, {}),
    ("bench_press", {"velocity_loss_pct": 20.0}, {"velocity_loss": 20.0}),  # at the threshold: raised
    ("deadlift", {"peak_lumbar_flexion_deg": 45.0}, {"lumbar_flexion": 45.0}),
    ("bench_press", {"peak_lumbar_flexion_deg": 45.0}, {}),  # not a hinge: the back is on the bench
    ("deadlift", {"peak_lumbar_flexion_deg": 30.0, "lumbar_flexion_gain_deg": 9.0}, {"lumbar_flexion": 30.0}),
    ("deadlift", {"peak_lumbar_flexion_deg": 30.0, "lumbar_flexion_gain_deg": 7.0}, {}),
    # a calibrated athlete is judged against their own range, not the absolute angle
    ("deadlift", {"peak_lumbar_flexion_deg": 30.0, "peak_lumbar_flexion_pct_max": 75.0}, {"lumbar_flexion": 30.0}),
    ("deadlift", {"peak_lumbar_flexion_deg": 45.0, "peak_lumbar_flexion_pct_max": 60.0}, {}),
    ("squat", {"lumbar_flexion_rise_deg": 12.0}, {"lumbar_flexion_drift": 12.0}),
    ("deadlift", {"hip_rise_deg": 12.0}, {"hips_rise_early": 12.0}),
    ("romanian_deadlift", {"hip_rise_deg": 12.0}, {}),  # an RDL starts at the top: no floor to leave
    ("deadlift", {"lockout_lean_back_deg": 12.0}, {"lockout_hyperextension": 12.0}),
    ("deadlift", {"lockout_lean_back_deg": 5.0, "lockout_lumbar_extension_deg": 11.0}, {"lockout_hyperextension": 11.0}),
    ("bench_press", {"bar_drift_m": 0.06}, {"bar_drift": 0.06}),
    ("deadlift", {"bar_drift_m": 0.04}, {}),
    # each exercise its own flexion limit: a sumo pull is judged stricter (a more upright trunk)
    ("sumo_deadlift", {"peak_lumbar_flexion_deg": 35.0}, {"lumbar_flexion": 35.0}),
    ("deadlift", {"peak_lumbar_flexion_deg": 35.0}, {}),
    ("sumo_deadlift", {"hip_rise_deg": 12.0}, {"hips_rise_early": 12.0}),
    ("trap_bar_deadlift", {"hip_rise_deg": 12.0}, {"hips_rise_early": 12.0}),
    # one-sided loading, to either side; the bar's tilt on any lift
    ("deadlift", {"peak_side_bend_deg": -9.0}, {"side_bend": -9.0}),
    ("deadlift", {"peak_side_bend_deg": 7.0, "peak_twist_deg": 6.5}, {"twist": 6.5}),
    ("bench_press", {"peak_twist_deg": 9.0}, {}),  # the back is on the bench
    ("bench_press", {"bar_tilt_deg": 4.5}, {"bar_tilt": 4.5}),
    ("squat", {"bar_tilt_deg": 3.5}, {}),
    # a metric that could not be measured never raises a flag
    ("deadlift", {"bar_drift_m": math.nan, "peak_lumbar_flexion_deg": None, "velocity_loss_pct": math.nan}, {}),
    ("deadlift", {"velocity_loss_pct": 30.0, "hip_rise_deg": 15.0, "bar_drift_m": 0.08},
     {"velocity_loss": 30.0, "hips_rise_early": 15.0, "bar_drift": 0.08}),
]


@pytest.mark.parametrize(("exercise", "metrics", "expected"), CASES)
def test_flags_from_metrics(exercise, metrics, expected):
    assert evaluate_rep_flags(metrics, TH, exercise) == pytest.approx(expected)


@pytest.mark.parametrize(("mv", "expected"), [
    ([0.60, 0.54, 0.45], [0.0, 10.0, 25.0]),
    # against the fastest rep so far: a live display knows no later rep, and offline says the same
    ([0.50, 0.55, 0.44], [0.0, 0.0, 20.0]),
    ([0.50, 0.40, 0.55, 0.44], [0.0, 20.0, 0.0, 20.0]),
    ([0.5, math.nan, 0.4], [0.0, math.nan, 20.0]),
    ([math.nan, 0.5, 0.4], [math.nan, 0.0, 20.0]),
    ([], []),
])
def test_velocity_loss_against_the_fastest_rep_of_the_set(mv, expected):
    assert list(velocity_loss_pct(mv)) == pytest.approx(expected, nan_ok=True)


def _flexion_set(peaks_deg):
    from barback.analysis.config import load_thresholds
    from barback.analysis.flags import SetTracker
    from barback.analysis.results import RepResult

    tr = SetTracker("deadlift", load_thresholds())
    for k, f in enumerate(peaks_deg):
        tr.add(RepResult(set=1, rep=k + 1, concentric_start_s=2.0 * k, concentric_end_s=2.0 * k + 1.0,
                         peak_velocity_time_s=2.0 * k + 0.5, eccentric_start_s=None, eccentric_end_s=None,
                         lockout_end_s=2.0 * k + 1.5, setup_start_s=None, time_to_peak_velocity_s=0.5,
                         mean_velocity_mps=0.5, peak_velocity_mps=0.8, rom_m=0.5, peak_lumbar_flexion_deg=f))
    return ["lumbar_flexion_drift" in r.flag_names for r in tr.reps]


def test_one_spike_of_flexion_is_not_a_drift():
    """Issue 14: 16, 28, 24, 19, 15 deg raised lumbar_flexion_drift at rep 2 (a 12 deg rise); one
    spike is not rounding more each rep. The drift is the fitted trend of the set's reps so far."""
    assert _flexion_set([16, 28, 24, 19, 15]) == [False] * 5
    assert _flexion_set([16, 20, 24, 28, 32]) == [False, False, False, True, True]  # 4 deg a rep
    assert _flexion_set([16, 27, 29, 30]) == [False, False, True, True]


def test_angles_no_spine_or_lift_reaches_are_withheld_with_the_reason():
    """Issue 14 item 4: a rep metric outside physical bounds (flexion over 90 deg) must be withheld
    with a reason, never reported as valid. The rep and its bar numbers stand."""
    from barback.analysis.config import load_thresholds
    from barback.analysis.pipeline import withhold_implausible_angles
    from barback.analysis.results import RepResult

    def rep(**kw):
        return RepResult(set=1, rep=1, concentric_start_s=0.0, concentric_end_s=1.0, peak_velocity_time_s=0.5,
                         eccentric_start_s=None, eccentric_end_s=None, lockout_end_s=1.5, setup_start_s=None,
                         time_to_peak_velocity_s=0.5, mean_velocity_mps=0.5, peak_velocity_mps=0.8, rom_m=0.5, **kw)

    q = load_thresholds().quality
    r = rep(peak_lumbar_flexion_deg=104.0, peak_trunk_inclination_deg=60.0)
    withhold_implausible_angles(r, q, 104.0, 3.0)
    assert r.peak_lumbar_flexion_deg is None and "lumbar numbers withheld" in r.quality[0]
    assert r.peak_trunk_inclination_deg == 60.0 and r.mean_velocity_mps == 0.5
    r = rep(peak_lumbar_flexion_deg=30.0, peak_trunk_inclination_deg=170.0)
    withhold_implausible_angles(r, q, 30.0, 60.0)
    assert r.peak_lumbar_flexion_deg is None and r.peak_trunk_inclination_deg is None and len(r.quality) == 2
    r = rep(peak_lumbar_flexion_deg=42.0, peak_trunk_inclination_deg=95.0)
    withhold_implausible_angles(r, q, 42.0, 12.0)
    assert r.peak_lumbar_flexion_deg == 42.0 and r.peak_trunk_inclination_deg == 95.0 and not r.quality
