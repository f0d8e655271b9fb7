"""The warm-up check (issue 15 item 1): known answers on hand-made sets, then simulated sessions
whose loads ramp (or do not) as the simulator planned them, the truth being that plan and the
true set start times (never the check under test)."""

import dataclasses
import io

import pytest

from barback.analysis.config import load_thresholds
from barback.analysis.pipeline import analyze
from barback.analysis.results import RepResult, SetResult
from barback.analysis.warmup import warm_up_check
from barback.sessions.load import open_session
from barback.simulation.simulate import scenario, simulate, write_session

RULE = load_thresholds().warm_up


def _set(k, start_min, load=None, mv=0.5):
    return SetResult(k, 5, 60.0 * start_min, 60.0 * start_min + 30, mv, mv, 10.0, 10.0, load, {})


@pytest.mark.parametrize(("sets", "e1rm", "v_heavy", "heavy", "before", "warned"), [
    # a ramp: 60, 100 then 140 kg (the heaviest) within half an hour
    ([_set(1, 0, 60), _set(2, 5, 100), _set(3, 10, 140)], None, None, 3, (1, 2), False),
    # straight to the working weight
    ([_set(1, 0, 140), _set(2, 5, 140)], None, None, 1, (), True),
    # one warm-up set only
    ([_set(1, 0, 100), _set(2, 5, 140), _set(3, 10, 140)], None, None, 2, (1,), True),
    # warm-ups 40 minutes before do not count
    ([_set(1, 0, 60), _set(2, 5, 100), _set(3, 45, 140)], None, None, 3, (), True),
    # with the athlete's e1RM (160 kg): 140 kg is 88 %, the first heavy set; 120 kg (75 %) is not
    ([_set(1, 0, 60), _set(2, 5, 120), _set(3, 10, 140)], 160.0, None, 3, (1, 2), False),
    # nothing at 80 % of the e1RM: nothing to warm up for
    ([_set(1, 0, 60), _set(2, 5, 100)], 160.0, None, None, (), False),
    # no loads: a lighter set moves faster; the slowest sets are the heavy ones
    ([_set(1, 0, None, 0.80), _set(2, 5, None, 0.60), _set(3, 10, None, 0.35)], None, None, 3, (1, 2), False),
    ([_set(1, 0, None, 0.36), _set(2, 5, None, 0.35)], None, None, 1, (), True),
    # the athlete's velocity at 80 % (0.40 m/s) marks the heavy set
    ([_set(1, 0, None, 0.80), _set(2, 5, None, 0.38)], None, 0.40, 2, (1,), True),
    # one set and no history: not judged
    ([_set(1, 0, 140)], None, None, None, (), False),
])
def test_known_ramps(sets, e1rm, v_heavy, heavy, before, warned):
    wu = warm_up_check(sets, [], RULE, e1rm, v_heavy)
    assert (wu.heavy_set, wu.lighter_sets_before, wu.warned) == (heavy, before, warned)
    assert (wu.explanation is not None) == warned
    if heavy is None:
        assert wu.note


def test_flexion_of_warm_up_and_heavy_sets_side_by_side():
    sets = [_set(1, 0, 60), _set(2, 5, 100), _set(3, 10, 140)]
    reps = [RepResult(k, 1, 0, 1, 0.5, None, None, 1.5, None, 0.5, 1.0, 0.5, 0.3, peak_lumbar_flexion_deg=f)
            for k, f in ((1, 12.0), (2, 16.0), (3, 30.0))]
    wu = warm_up_check(sets, reps, RULE)
    assert wu.warm_up_flexion_deg == pytest.approx(14.0) and wu.heavy_flexion_deg == pytest.approx(30.0)


RAMPS = {"ramped": (40, 60, 80, 85), "skipped": (85, 85, 85), "one warm-up": (60, 85, 85)}


@pytest.mark.parametrize("kind", RAMPS)
def test_simulated_sessions_with_and_without_loads(tmp_path, kind):
    ramp = RAMPS[kind]
    sim = simulate(scenario("deadlift_100hz", seed=5, sets=len(ramp), reps_per_set=3, rest_s=(60.0, 120.0),
                            set_pct_1rm=ramp))
    truth = sim.warm_up_truth()
    session = open_session(write_session(sim, tmp_path / "s"))
    res = analyze(session, loads_kg=session.loads_kg)
    assert res.warm_up.warned == truth["warned"] and res.warm_up.heavy_set == truth["heavy_set"]
    # with the athlete's true 1RM as the e1RM
    res = analyze(session, loads_kg=session.loads_kg, e1rm_kg=sim.config.one_rm_kg)
    assert res.warm_up.heavy_by == "e1rm" and res.warm_up.warned == truth["warned"]
    # no loads logged: the sets' speed tells the ramp
    res = analyze(dataclasses.replace(session, meta={}), loads_kg={})
    assert res.warm_up.heavy_by == "velocity_in_session" and res.warm_up.warned == truth["warned"]


def test_the_warm_up_reaches_the_json_the_table_and_the_report(tmp_path):
    import json

    from barback.reporting.export import write_json
    from barback.reporting.report import render_html
    from barback.reporting.table import print_reps

    sim = simulate(scenario("deadlift_100hz", seed=6, sets=2, reps_per_set=3, set_pct_1rm=(60, 85)))
    session = open_session(write_session(sim, tmp_path / "s"))
    res = analyze(session, loads_kg=session.loads_kg)
    assert res.warm_up.warned
    write_json(res, tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["warm_up"]["warned"] is True and d["warm_up"]["heavy_set"] == 2
    buf = io.StringIO()
    print_reps(res, file=buf)
    assert "warm-up" in buf.getvalue() and "set 2" in buf.getvalue()
    html = render_html(res)
    assert "id='warm-up'" in html and "first heavy set" in html and res.warm_up.cue in html


def test_live_warns_as_the_first_heavy_set_begins(tmp_path, monkeypatch):
    """Typing the next set's load during capture runs the check: a heavy set after one warm-up
    set is warned of before its first rep."""
    from barback.cli import ble
    from barback.sensor.live import LiveAnalyzer
    from barback.sensor.replay import replay
    from barback.simulation.simulate import write_recording

    sim = simulate(scenario("deadlift_100hz", seed=7, sets=1, reps_per_set=3, set_pct_1rm=(60,)))
    rec = write_recording(sim, tmp_path / "rec")
    live = LiveAnalyzer("deadlift", bar_sensor_id=0)
    replay(rec, live=live)
    assert {r.set for r in live.reps} == {1}

    class Cap:
        loads_kg = {"1": 96.0}

        def set_load(self, k, kg):
            self.loads_kg[str(k)] = kg

    class View:
        def __init__(self):
            self.lines = []

        def message(self, text):
            self.lines.append(text)

    view = View()
    monkeypatch.setattr("sys.stdin", io.StringIO("l 140\n"))
    ble._read_load(Cap(), live, view)
    assert any(line.startswith("warm-up:") and "set 2" in line for line in view.lines), view.lines
