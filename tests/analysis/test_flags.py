"""Form flags, table-driven: each row is a rep's metrics and the flags a coach expects of them.

The thresholds are set here (overrides of the shipped file) so that every expected answer follows
from the numbers in this table alone."""

import math

import pytest

from barback.analysis.config import load_thresholds
from barback.analysis.flags import evaluate_rep_flags, velocity_loss_pct

TH = load_thresholds(overrides={
    "velocity_loss.threshold_pct": 20.0, "lumbar_flexion.peak_deg": 40.0, "lumbar_flexion.gain_deg": 8.0,
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
