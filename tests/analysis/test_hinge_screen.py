"""The hip-hinge screen (issue 15 item 3): simulated drills with good and poor hinges, scored
against the simulator's own pelvis and spine angles at the bottom of each hinge."""

import json

import numpy as np
import pytest

from barback.analysis.config import load_thresholds
from barback.analysis.screen import find_hinges, hinge_screen
from barback.cli import main
from barback.sessions.load import open_session
from barback.simulation.simulate import simulate_hinge_drill, write_session

TH = load_thresholds()


def test_find_hinges_takes_the_bottom_of_each_bend():
    t = np.linspace(0, 20, 2001)
    trunk = 50 * np.clip(np.sin(2 * np.pi * t / 4), 0, None)  # five bends of 50 deg
    bottoms = find_hinges(t, trunk, 30.0)
    assert len(bottoms) == 5 and np.allclose(t[bottoms], [1, 5, 9, 13, 17], atol=0.02)


@pytest.mark.parametrize(("good", "seed"), [(True, 1), (True, 2), (False, 1), (False, 2)])
def test_drills_against_simulated_truth(tmp_path, good, seed):
    sim = simulate_hinge_drill(good, seed=seed)
    res = hinge_screen(open_session(write_session(sim, tmp_path / "s")), TH)
    assert len(res.hinges) == len(sim.truth) == 5
    for h, t in zip(res.hinges, sim.truth):
        assert abs(h.bottom_s - t["bottom_s"]) < 0.8
        assert abs(h.lumbar_flexion_deg - t["lumbar_flexion_deg"]) < 2.0
        assert abs(h.pelvis_deg - t["pelvis_deg"]) < 2.5
        assert abs(h.hip_share - t["hip_share"]) < 0.05
    # good hinges take 45-60 deg from the hips over 4-10 deg of the spine; poor ones 15-25 over 28-40
    assert res.passed is good
    if not good:
        assert any("hips gave" in r for r in res.reasons) and res.cues


def test_a_calibrated_athlete_is_judged_by_their_own_range(tmp_path):
    sim = simulate_hinge_drill(True, seed=3)
    session = open_session(write_session(sim, tmp_path / "s"))
    peak = max(t["lumbar_flexion_deg"] for t in sim.truth)
    # a maximum at which 70 % is below this drill's flexion: the good hinge fails on flexion alone
    res = hinge_screen(session, TH, max_flexion_deg=0.8 * peak / (TH.lumbar_flexion.pct_of_max / 100))
    assert res.limit_from == "calibration" and not res.passed
    assert any("safe range" in r for r in res.reasons)


def test_too_few_hinges_is_no_verdict(tmp_path):
    sim = simulate_hinge_drill(True, hinges=2, seed=4)
    res = hinge_screen(open_session(write_session(sim, tmp_path / "s")), TH)
    assert not res.passed and res.hip_share is None and "do the drill again" in res.reasons[0]


def test_the_screen_command_stores_it_and_the_history_shows_it(tmp_path, capsys):
    db = str(tmp_path / "h.sqlite")
    for good, date in ((False, "2026-11-01"), (True, "2026-11-20")):
        src = write_session(simulate_hinge_drill(good, seed=5), tmp_path / f"drill{good}")
        assert main(["screen", "hinge", "--athlete", "Ana", "--db", db, "--from", str(src), "--date", date,
                     "--json", str(tmp_path / f"{good}.json")]) == 0
        out = capsys.readouterr().out
        assert ("PASS" if good else "FAIL") in out and "from the hips" in out
        assert json.loads((tmp_path / f"{good}.json").read_text())["passed"] is good
    assert main(["history", "--db", db, "--athlete", "Ana", "--report", str(tmp_path / "h.html"),
                 "--json", str(tmp_path / "h.json")]) == 0
    h = json.loads((tmp_path / "h.json").read_text())
    assert [s["passed"] for s in h["screens"]] == [False, True]
    html = (tmp_path / "h.html").read_text()
    assert "id='screens'" in html and "Cue:" in html


def test_the_screen_runs_live_on_emulated_sensors(tmp_path, capsys):
    """The guided drill recorded live (emulated lumbar sensors playing a simulated good drill) and
    scored through the same code."""
    db = str(tmp_path / "h.sqlite")
    assert main(["screen", "hinge", "--athlete", "Bo", "--db", db, "--emulate", "--out", str(tmp_path / "rec")]) == 0
    out = capsys.readouterr().out
    assert ">>> five slow hip hinges" in out and "PASS" in out
