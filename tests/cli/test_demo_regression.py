"""Regression on the bundled recording: its ground truth ships beside it."""

import json

import pytest

from barback.analysis.pipeline import analyze
from barback.cli import DEMO_RECORDING
from barback.sessions.load import open_session
from barback.simulation.evaluation import score


def test_bundled_recording_matches_its_truth():
    truth = json.loads((DEMO_RECORDING / "truth.json").read_text())["reps"]
    res = analyze(open_session(DEMO_RECORDING))
    s = score(res, truth)
    assert (s.tp, s.fp, s.fn) == (15, 0, 0)
    assert s.rmse("mean_velocity_mps") < 0.02
    assert s.rmse("peak_lumbar_flexion_deg") < 1.5
    assert s.f1 == pytest.approx(1.0)
