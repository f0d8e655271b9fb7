"""Regression on real, third-party recordings (tests/data/repmate, MIT): one bench press per
five-second window from a bar-fixed MPU6050. No reference exists, so the checks are what a person
sees in the plot (one rep) and physical plausibility; they cannot tell a 10 % velocity error."""

from pathlib import Path

import pytest

from barback.analysis.pipeline import analyze
from barback.sessions.csv_format import load_session

WINDOWS = sorted(p for p in (Path(__file__).resolve().parents[1] / "data" / "repmate").iterdir() if p.is_dir())


def test_the_bundled_windows_are_there():
    assert len(WINDOWS) == 12


@pytest.mark.parametrize("window", WINDOWS, ids=lambda p: p.name)
def test_one_plausible_rep_per_window(window):
    res = analyze(load_session(window))
    assert len(res.reps) == 1
    r = res.reps[0]
    if r.quality_grade != "poor":  # a withheld value is null with a reason, never implausible
        assert 0.15 <= r.mean_velocity_mps <= 1.5
        assert 0.2 <= r.rom_m <= 0.9
    else:
        assert r.mean_velocity_mps != r.mean_velocity_mps and r.quality
