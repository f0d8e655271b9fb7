"""The live path on commodity data: touch-and-go sets that never rest, a lossy BLE link with
repeats and bursty arrival stamps. Each rep must be reported live as offline analysis finds it,
and within a second of its true end (truth from the simulator, not from the code under test)."""

import numpy as np
import pytest

from barback.analysis.config import PipelineSettings
from barback.analysis.pipeline import analyze
from barback.sensor.live import LiveAnalyzer
from barback.sensor.replay import replay
from barback.sessions.load import open_session
from barback.simulation.simulate import scenario, simulate, write_recording


def _overlaps(a0, a1, b0, b1):
    return min(a1, b1) - max(a0, b0) > 0.5 * (b1 - b0)


def _lost_fraction(sim) -> float:
    """Share of the bar's recording lost to packet loss, from the simulator's own gap list."""
    t = sim.sensors["bar"]["time_s"]
    lost, cur = 0.0, -np.inf
    for a, b in sorted(sim.gaps):
        a = max(a, cur)
        lost += max(0.0, b - a)
        cur = max(cur, b)
    return lost / (t[-1] - t[0])


def _typical(name: str, seed: int, max_lost: float = 0.10):
    """The first session from `seed` on whose link loses no more than `max_lost` of the time
    (the real sets' median is 6 %): chosen by the simulated link alone, never by the outcome."""
    while True:
        sim = simulate(scenario(name, seed=seed))
        if sim.config.link is None or _lost_fraction(sim) <= max_lost:
            return sim
        seed += 1


@pytest.mark.parametrize("name,seed", [("commodity_deadlift_tng", 301), pytest.param(
    "commodity_squat", 302, marks=pytest.mark.xfail(strict=True, reason="open (issue 10 item 5): live finds 9 of "
                                                    "offline's 10 reps on this squat set")), ("deadlift_touch_and_go", 1)])
def test_live_reports_every_rep_within_a_second_of_its_end(tmp_path, name, seed):
    sim = _typical(name, seed)
    rec = write_recording(sim, tmp_path / "rec")
    live = LiveAnalyzer(sim.config.exercise, bar_sensor_id=0)
    replay(rec, live=live)
    off = analyze(open_session(rec))
    # the same reps as offline
    assert len(live.reps) == len(off.reps)
    for lr, o in zip(live.reps, off.reps):
        r = lr.result
        assert _overlaps(r.concentric_start_s, r.concentric_end_s, o.concentric_start_s, o.concentric_end_s)
    # reported soon after the true end of the rep; a rep whose concentric phase a long data gap
    # hid can only be inferred once the next rep is in, so it may come later
    on_time, measured = 0, 0
    for lr in live.reps:
        r = lr.result
        t = [x for x in sim.truth if _overlaps(r.concentric_start_s, r.concentric_end_s,
                                               x["concentric_start_s"], x["concentric_end_s"])]
        if not t or t[0].get("gap_in_concentric_s", 0.0) > PipelineSettings().max_bridge_s:
            continue
        measured += 1
        on_time += lr.reported_s - t[0]["concentric_end_s"] <= 1.0
    assert measured >= 0.5 * len(sim.truth)  # the check has something to check
    assert on_time >= 0.9 * measured, (on_time, measured, np.round(live.delays_s, 2))


def test_no_rep_from_the_rise_a_recording_ends_in(tmp_path):
    """A recording that ends while the track still rises (the bar set down, nothing after it to
    pin the velocity) shows no completed rep there: every rep found is a true one."""
    from barback.sessions.csv_format import load_session
    from barback.simulation.evaluation import match_reps
    from barback.simulation.simulate import write_session

    sim = simulate(scenario("commodity_deadlift", seed=523))
    res = analyze(load_session(write_session(sim, tmp_path / "s")))
    assert not [r for t, r in match_reps(res, sim.truth) if t is None]
    assert len(res.reps) == len(sim.truth)
