"""Regression runs on simulated sessions with ground truth."""

import numpy as np
import pytest

from barback.analysis.pipeline import analyze
from barback.sensor.replay import session_from_recording
from barback.sessions.csv_format import load_session
from barback.simulation.evaluation import match_reps, score
from barback.simulation.simulate import scenario, simulate, write_recording, write_session


def _run(cfg, tmp_path, native=False):
    sim = simulate(cfg)
    d = (write_recording if native else write_session)(sim, tmp_path / "s")
    session = session_from_recording(d) if native else load_session(d)
    return sim, analyze(session)


def test_deadlift_two_lumbar_sensors(sim_deadlift, sim_deadlift_dir):
    res = analyze(load_session(sim_deadlift_dir))
    s = score(res, sim_deadlift.truth)
    assert (s.tp, s.fp, s.fn) == (len(sim_deadlift.truth), 0, 0)
    assert abs(s.bias("mean_velocity_mps")) < 0.015 and s.rmse("mean_velocity_mps") < 0.025
    assert s.rmse("rom_m") < 0.02
    assert s.rmse("peak_lumbar_flexion_deg") < 1.5
    assert [x.set for x in res.sets] == [1, 2]
    for f in ("lumbar_flexion", "hips_rise_early", "lockout_hyperextension", "bar_drift", "velocity_loss"):
        tp, fp, fn = s.flags.get(f, [0, 0, 0])
        assert fp + fn <= 1, f
    # walking and turning between sets left no ghost reps and a sane standing zero
    assert res.has_lumbar_flexion and all(r.peak_lumbar_flexion_deg is not None for r in res.reps)


def test_one_lumbar_sensor_reports_inclination_but_no_flexion(tmp_path):
    sim, res = _run(scenario("deadlift_one_lumbar", seed=2, sets=1), tmp_path)
    assert len(res.reps) == len(sim.truth)
    assert all(r.peak_lumbar_flexion_deg is None for r in res.reps)
    assert all(r.peak_trunk_inclination_deg is not None for r in res.reps)
    assert not any(f.name == "lumbar_flexion" for r in res.reps for f in r.flags)
    assert res.to_dict()["reps"][0]["peak_lumbar_flexion_deg"] is None
    assert any("one lumbar sensor" in w for w in res.warnings)


@pytest.mark.parametrize("name", ["deadlift_touch_and_go", "romanian_deadlift", "squat", pytest.param(
    "bench_press", marks=pytest.mark.xfail(strict=True, reason="open: a data gap while the bar is walked back "
                                           "to the rack after the last rep is counted as a rep (seed 4, 2 sets)"))])
def test_exercises_without_ghost_reps(name, tmp_path):
    sim, res = _run(scenario(name, seed=4, sets=2), tmp_path)
    s = score(res, sim.truth)
    assert (s.fp, s.fn) == (0, 0), name  # unrack, walk-out, pick-up and set-down are not reps
    assert s.rmse("mean_velocity_mps") < 0.03


def test_low_rate_counts_reps_and_warns(tmp_path):
    sim, res = _run(scenario("deadlift_100hz", seed=6, sets=1, fs_hz=25.0), tmp_path)
    assert len(res.reps) == len(sim.truth)
    assert any("below 50 Hz" in w for w in res.warnings)


def test_native_recording_with_arrival_stamps(tmp_path):
    sim, res = _run(scenario("deadlift_100hz", seed=8, sets=1), tmp_path, native=True)
    s = score(res, sim.truth)
    assert (s.fp, s.fn) == (0, 0)
    assert s.rmse("mean_velocity_mps") < 0.025
    assert any("re-timed" in w for w in res.warnings)


def test_no_reps_is_not_an_error(tmp_path):
    sim = simulate(scenario("deadlift_100hz", seed=1, sets=1, reps_per_set=1))
    d = write_session(sim, tmp_path / "s")
    import pandas as pd

    df = pd.read_csv(d / "bar.csv")
    df[df.time_s < 5.0].to_csv(d / "bar.csv", index=False)  # only the quiet start
    res = analyze(load_session(d))
    assert res.reps == [] and res.sets == []
    assert any("no reps" in w for w in res.warnings)


def test_recording_that_starts_mid_set(tmp_path):
    """No quiet standing at the start (the lifter is over the bar): the zero of flexion comes from
    a posture held still and upright later (the first lockout or the longest-held posture), never
    from the bent-over first second."""
    import pandas as pd

    sim = simulate(scenario("deadlift_100hz", seed=3))
    d = write_session(sim, tmp_path / "s")
    cut = sim.truth[1]["concentric_start_s"] - 0.5
    for role in sim.sensors:
        df = pd.read_csv(d / f"{role}.csv")
        df[df.time_s > cut].to_csv(d / f"{role}.csv", index=False)
    truth = [t for t in sim.truth if t["concentric_start_s"] > cut]
    res = analyze(load_session(d))
    s = score(res, truth)
    assert (s.fp, s.fn) == (0, 0)
    assert s.rmse("peak_lumbar_flexion_deg") < 2.5
    assert not any("no still period found" in w for w in res.warnings)


def test_a_noisy_poorly_calibrated_imu(tmp_path):
    sim, res = _run(scenario("deadlift_noisy_imu", seed=11, sets=2), tmp_path)
    s = score(res, sim.truth)
    assert (s.fp, s.fn) == (0, 0)
    assert s.rmse("mean_velocity_mps") < 0.03
    assert s.rmse("peak_lumbar_flexion_deg") < 3.0


def test_phase_ends_hold_under_lockout_sway(tmp_path):
    """The bar is never still at lockout: 1 cm of band-limited sway from the instant the pull ends
    and pulls with a linear-onset (sin^1) profile. The concentric end must stay where the bar
    stopped rising, not run into the hold (issue 11: up to 0.67 s late, MV low by 0.16 m/s)."""
    sim, res = _run(scenario("deadlift_200hz", seed=21, lockout_sway_m=0.01, velocity_shape=(1.0, 1.6)),
                    tmp_path)
    pairs = [(t, r) for t, r in match_reps(res, sim.truth) if t is not None and r is not None]
    assert len(pairs) == len(sim.truth) == len(res.reps)
    late_s = [r.concentric_end_s - t["concentric_end_s"] for t, r in pairs]
    assert max(np.abs(late_s)) < 0.12
    s = score(res, sim.truth)
    assert abs(s.bias("mean_velocity_mps")) <= 0.01
    assert s.rmse("mean_velocity_mps") <= 0.02


def test_flexion_unbiased_on_a_poor_imu_at_52_hz(tmp_path):
    """Issue 11 item 4: peak flexion biased by the lumbar sensors' accelerometer bias and scale
    errors (3x consumer noise, 50 mg bias) at 52 Hz. Goal: RMSE <= 1.5 deg, bias <= 0.5 deg."""
    from barback.simulation.evaluation import Scores

    s = Scores()  # pooled over sessions: each session's calibration leaves its own error
    for seed in range(30, 34):
        sim, res = _run(scenario("deadlift_noisy_imu", seed=seed, fs_hz=52.0, sets=2), tmp_path / str(seed))
        s.add(score(res, sim.truth))
    assert (s.fp, s.fn) == (0, 0)
    assert s.rmse("peak_lumbar_flexion_deg") <= 1.5
    assert abs(s.bias("peak_lumbar_flexion_deg")) <= 0.5


@pytest.mark.parametrize("name", ["sumo_deadlift", "trap_bar_deadlift"])
def test_sumo_and_trap_bar_pulls(tmp_path, name):
    """Issue 15 item 5: a sumo pull (shorter, the trunk upright) and a hexagonal-bar pull, each
    judged by its own profile (range of motion, flexion limit), against the simulator's truth."""
    from barback.analysis.config import load_thresholds

    sim, res = _run(scenario(name, seed=21, sets=2), tmp_path)
    s = score(res, sim.truth)
    assert (s.tp, s.fp, s.fn) == (len(sim.truth), 0, 0)
    assert abs(s.bias("mean_velocity_mps")) < 0.015 and s.rmse("rom_m") < 0.02
    assert s.rmse("peak_lumbar_flexion_deg") < 1.5
    lift = load_thresholds().exercise[name]
    assert all(lift.rom_min_m <= r.rom_m <= lift.rom_max_m for r in res.reps)
    for t, r in match_reps(res, sim.truth):
        flagged = "lumbar_flexion" in r.flag_names
        assert flagged == ("lumbar_flexion" in t["flags"]), (t["set"], t["rep"], r.peak_lumbar_flexion_deg)


@pytest.mark.parametrize("name", ["deadlift_100hz", "commodity_deadlift_lumbar"])
def test_the_two_thread_path_gives_the_serial_paths_result(name, tmp_path):
    """A long session runs the lumbar angles on the lumbar sensors' thread, with zeros found
    without the reps' lockouts, kept only when the lockouts change none. Where they do (lumbar
    sensors that never stand still take their zero at the lockouts) the angles are worked out
    again. Either way the result is the serial path's, number for number."""
    import dataclasses
    import json

    from barback.analysis.config import PipelineSettings
    from barback.analysis.lumbar import lumbar_references, same_references

    sim = simulate(scenario(name, seed=3, lumbar_sensors=2))
    session = load_session(write_session(sim, tmp_path / "s"))
    threaded = analyze(session, dataclasses.replace(PipelineSettings(), thread_min_samples=0))
    serial = analyze(session, dataclasses.replace(PipelineSettings(), thread_min_samples=10**12))

    def numbers(res):
        d = res.to_dict()
        d.pop("timing", None)
        return json.dumps(d, sort_keys=True, default=str)

    assert numbers(threaded) == numbers(serial)
    assert any(np.isfinite(r.peak_lumbar_flexion_deg) for r in serial.reps if r.peak_lumbar_flexion_deg is not None)
    if name.startswith("commodity"):  # the case the speculation must notice: the lockouts set the zero
        from barback.analysis.imu import Role
        from barback.analysis.orientation import prepare_stream

        inputs = {}
        for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
            u, att, _ = prepare_stream(session.streams[role], role)
            inputs[role] = (u.t_s, att, u.fs_hz)
        lockouts = [(r.concentric_end_s, r.concentric_end_s + 0.3) for r in serial.reps]
        assert not same_references(lumbar_references(inputs), lumbar_references(inputs, lockouts_s=lockouts))
