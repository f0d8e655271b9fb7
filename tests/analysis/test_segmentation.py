"""Rep segmentation, table-driven on bar strokes with analytic answers (tests/analysis/synthetic.py):
what counts as a rep, where sets split, and where each concentric phase starts and ends."""

import pytest
from synthetic import bar_session

from barback.analysis.imu import Role, Session
from barback.analysis.pipeline import analyze

CASES = [
    # (id, strokes (height m, time s), rest s, hold s, reps expected, ROM tolerance m)
    ("dead stop", [(0.55, 1.0)] * 4, 2.0, 1.0, 4, 0.01),
    # no rest at the floor to anchor the track: ROM within 2 cm (measured 1.4 cm short)
    ("touch and go", [(0.55, 1.0)] * 5, 0.0, 0.0, 5, 0.02),
    ("touch and go, held at the top", [(0.55, 1.0)] * 5, 0.0, 0.3, 5, 0.01),
    ("short pauses", [(0.50, 1.2)] * 5, 0.3, 0.2, 5, 0.01),
    ("a shrug is not a rep", [(0.55, 1.0), (0.08, 0.5), (0.55, 1.0)], 2.0, 1.0, 2, 0.01),
    ("slow grinders", [(0.55, 2.5), (0.55, 3.0), (0.55, 3.5)], 2.0, 1.0, 3, 0.01),
    ("fast reps", [(0.50, 0.5)] * 4, 1.0, 0.5, 4, 0.01),
]


@pytest.mark.parametrize(("strokes", "rest", "hold", "n_reps", "rom_tol"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_reps_counted_and_phases_placed(strokes, rest, hold, n_reps, rom_tol):
    stream, truth = bar_session(strokes, rest=rest, hold=hold, tail=2.0)
    truth = [t for t in truth if t[2] >= 0.15]  # strokes of a lift's range of motion
    res = analyze(Session("deadlift", {Role.BAR: stream}))
    assert len(res.reps) == n_reps == len(truth)
    for r, (t0, t1, A, mv, _) in zip(res.reps, truth):
        assert r.concentric_start_s == pytest.approx(t0, abs=0.04)
        assert r.concentric_end_s == pytest.approx(t1, abs=0.04)
        assert r.rom_m == pytest.approx(A, abs=rom_tol)
        assert r.mean_velocity_mps == pytest.approx(mv, rel=0.03)


def test_a_long_rest_starts_a_new_set():
    stream, _ = bar_session([(0.55, 1.0)] * 2 + [(0.55, 1.0)] * 2, rest=2.0)
    one_set = analyze(Session("deadlift", {Role.BAR: stream}))
    assert {r.set for r in one_set.reps} == {1}
    s1, truth = bar_session([(0.55, 1.0)] * 2, rest=45.0)  # 45 s between the two reps: > 30 s set gap
    res = analyze(Session("deadlift", {Role.BAR: s1}))
    assert [(r.set, r.rep) for r in res.reps] == [(1, 1), (2, 1)]


@pytest.mark.xfail(strict=True, reason="open: a recording that ends as the bar touches the floor after "
                   "a set with no pause at the top; the last rep measures 0.62 m and 0.59 m/s (truth 0.55, "
                   "0.55): nothing anchors the track after it")
def test_recording_that_ends_at_the_floor_after_touch_and_go():
    stream, truth = bar_session([(0.55, 1.0)] * 5, rest=0.0, hold=0.0, tail=0.0)
    res = analyze(Session("deadlift", {Role.BAR: stream}))
    assert len(res.reps) == 5
    assert res.reps[-1].rom_m == pytest.approx(0.55, abs=0.02)
