"""The personal load ceiling (issue 15 item 4): the load above which form faults appear in a share
of the reps, from an athlete's history. Known answers on hand-made histories, then a simulated
history whose ceiling is set by the simulator (faults become likely from 84 % of 1RM)."""

import io

import numpy as np
import pytest

from barback.analysis.config import load_thresholds
from barback.history.store import SessionRow
from barback.history.trends import ceiling_warning, history, load_ceiling

RULE = load_thresholds().load_ceiling


def _row(k, sets):
    """A stored session: sets of (load, [faulted?] per rep)."""
    reps, out_sets = [], []
    for s, (load, faults) in enumerate(sets, start=1):
        out_sets.append({"set": s, "load_kg": load, "best_mean_velocity_mps": 0.5})
        reps += [{"set": s, "rep": i + 1, "flags": ["lumbar_flexion"] if f else []} for i, f in enumerate(faults)]
    return SessionRow(k, "ana", "deadlift", f"2026-01-{k + 1:02d}", "", len(reps), {"sets": out_sets, "reps": reps})


def _step(loads, at, rng):
    return [(x, list(rng.uniform(size=6) < (0.7 if x >= at else 0.05))) for x in loads]


def test_a_clear_step_gives_its_load():
    rng = np.random.default_rng(1)
    rows = [_row(k, _step([100, 110, 120, 130, 140, 150], 130, rng)) for k in range(5)]
    c = load_ceiling(rows, "ana", "deadlift", RULE, e1rm_kg=170.0)
    assert 120 <= c["ceiling_kg"] <= 130 and c["withheld"] is None
    assert c["low_kg"] <= c["ceiling_kg"] <= c["high_kg"]
    assert c["pct_e1rm"] == pytest.approx(100 * c["ceiling_kg"] / 170.0)
    assert (c["n_sessions"], c["n_reps"]) == (5, 5 * 6 * 6)
    text = ceiling_warning(c, 140.0, RULE)
    assert text and "140 kg is above" in text and "lifting too heavy" in text
    assert ceiling_warning(c, 110.0, RULE) is None


@pytest.mark.parametrize(("rows", "why"), [
    ([_row(0, [(100, [True, False]), (120, [True])])], "not enough data"),
    ([_row(k, [(x, [False] * 5) for x in (100, 120, 140)]) for k in range(4)], "no form faults"),
    # faults at light loads, none at heavy ones: no ceiling
    ([_row(k, [(100, [True] * 4 + [False]), (120, [True, False, False]), (140, [False] * 5)]) for k in range(4)],
     "do not grow with the load"),
])
def test_withheld_with_the_reason(rows, why):
    c = load_ceiling(rows, "ana", "deadlift", RULE)
    assert c["ceiling_kg"] is None and why in c["withheld"]


def test_a_simulated_history_with_a_known_ceiling(tmp_path):
    from barback.analysis.pipeline import analyze
    from barback.reporting.history_report import render_history_html
    from barback.reporting.table import print_history
    from barback.sessions.load import open_session
    from barback.simulation.simulate import scenario, simulate, write_session

    ramps = [(60, 70, 80, 90), (65, 75, 85, 92), (60, 72, 82, 88, 95), (70, 80, 90), (62, 78, 86, 94)]
    rows = []
    for k, ramp in enumerate(ramps):
        sim = simulate(scenario("deadlift_100hz", seed=400 + k, sets=len(ramp), reps_per_set=5, rest_s=(60.0, 120.0),
                                set_pct_1rm=ramp, fault_ceiling_pct=84.0, faults=("lumbar_flexion", "hips_rise_early"),
                                fault_rate=0.03))
        session = open_session(write_session(sim, tmp_path / f"s{k}"))
        res = analyze(session, loads_kg=session.loads_kg)
        rows.append(SessionRow(k, "ana", "deadlift", f"2026-01-{k + 1:02d}", "", len(res.reps), res.to_dict()))
    true_kg = 0.84 * sim.config.one_rm_kg
    h = history(rows, [])
    (c,) = h["load_ceiling"]
    # the simulated loads step from 82 to 85 % across the true ceiling (84 %): within those
    assert 0.80 * sim.config.one_rm_kg <= c["ceiling_kg"] <= 0.88 * sim.config.one_rm_kg, (c, true_kg)
    assert c["pct_e1rm"] is not None and 75 <= c["pct_e1rm"] <= 92
    html = render_history_html(h)
    assert "id='load-ceiling'" in html and f"{c['ceiling_kg']:.0f}" in html
    buf = io.StringIO()
    print_history(h, file=buf)
    assert "load ceiling" in buf.getvalue()


def test_capture_warns_when_a_typed_load_is_above_the_ceiling(monkeypatch):
    from barback.cli import ble
    from barback.sensor.live import LiveAnalyzer

    rng = np.random.default_rng(2)
    rows = [_row(k, _step([100, 110, 120, 130, 140, 150], 130, rng)) for k in range(5)]
    context = {"e1rm_kg": None, "ceiling": load_ceiling(rows, "ana", "deadlift", RULE)}

    class Cap:
        loads_kg: dict = {}

        def set_load(self, k, kg):
            self.loads_kg[str(k)] = kg

    class View:
        lines: list = []

        def message(self, text):
            self.lines.append(text)

    live = LiveAnalyzer("deadlift", bar_sensor_id=0)
    for typed, warned in (("l 110\n", False), ("l 145\n", True)):
        View.lines = []
        monkeypatch.setattr("sys.stdin", io.StringIO(typed))
        ble._read_load(Cap(), live, View(), context)
        assert any(line.startswith("load ceiling:") for line in View.lines) == warned, View.lines
