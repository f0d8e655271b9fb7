"""Timing clean-up: duplicates, order, BLE batching, gaps."""

import numpy as np
import pytest

from barback.analysis.imu import ImuStream
from barback.analysis.timebase import clean_samples, nominal_period, to_uniform


def _stream(t, seed=0):
    rng = np.random.default_rng(seed)
    n = len(t)
    return rng.normal(size=(n, 3)) + [0, 0, 9.8], rng.normal(size=(n, 3)) * 0.01


def test_duplicates_and_out_of_order_rows():
    t = np.arange(100) / 100.0
    acc, gyro = _stream(t)
    t2 = np.concatenate([t, t[[10, 20]]])
    a2 = np.concatenate([acc, acc[[10, 20]]])
    g2 = np.concatenate([gyro, gyro[[10, 20]]])
    t2[[30, 31]] = t2[[31, 30]]
    a2[[30, 31]] = a2[[31, 30]]
    g2[[30, 31]] = g2[[31, 30]]
    s, rep = clean_samples(t2, a2, g2)
    assert rep.n_duplicates == 2 and rep.n_out_of_order >= 1
    assert np.array_equal(s.t_s, t) and np.array_equal(s.acc_sf_mps2, acc)


def test_batch_of_distinct_samples_under_one_stamp_is_kept():
    t = np.repeat(np.arange(25) * 0.04, 4)
    acc, gyro = _stream(t)
    s, rep = clean_samples(t, acc, gyro)
    assert rep.n_duplicates == 0 and len(s) == 100


def test_batched_arrival_stamps_are_retimed_from_the_crystal():
    rng = np.random.default_rng(1)
    fs = 100.0
    true_t = 5.0 + np.arange(3000) / fs
    last = (np.arange(3000) // 6 + 1) * 6 - 1
    arrival = true_t[np.minimum(last, 2999)] + 0.008 + rng.gamma(2, 0.004, 3000)[np.minimum(last, 2999)]
    arrival = np.maximum.accumulate(arrival)
    acc, gyro = _stream(arrival)
    u = to_uniform(ImuStream(arrival, acc, gyro))
    assert u.regularized
    assert u.fs_hz == pytest.approx(fs, rel=2e-4)
    assert abs(u.t0_s - true_t[0]) < 0.015  # within the minimum link latency
    assert u.valid.all()


def test_gaps_are_found_and_marked_invalid():
    t = np.arange(2000) / 200.0
    keep = ~((t > 3.0) & (t < 3.4))
    acc, gyro = _stream(t[keep])
    u = to_uniform(ImuStream(t[keep], acc, gyro))
    assert u.fs_hz == pytest.approx(200.0, rel=1e-6)
    assert len(u.gaps_s) == 1 and u.gaps_s[0][0] == pytest.approx(3.0, abs=0.01)
    bad = u.t_s[~u.valid]
    assert bad.min() > 3.0 and bad.max() < 3.4 and len(bad) > 70


def test_nominal_period_at_13_hz_with_a_gap():
    t = np.arange(500) / 13.0
    t = np.concatenate([t[:200], t[205:]])
    assert 1 / nominal_period(t) == pytest.approx(13.0, rel=1e-6)


def _imu_stream(t):
    from barback.analysis.imu import ImuStream

    n = len(t)
    rng = np.random.default_rng(0)
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0, 0.01, (n, 3))
    return ImuStream(np.asarray(t, float), acc, rng.normal(0, 0.001, (n, 3)))


def test_a_stray_stamp_is_dropped_not_gridded():
    """Issue 13 item 2: one row at t = 1e6 s made a 15.6 GB grid. It is a clock glitch: dropped,
    counted, and the grid holds the data's own span."""
    from barback.analysis.timebase import clean_samples, to_uniform

    t = np.r_[np.arange(2000) / 100.0, 1e6, np.arange(2000, 4000) / 100.0]
    s = _imu_stream(t)
    clean, rep = clean_samples(s.t_s, s.acc_sf_mps2, s.gyro_sf_rps)
    assert rep.n_stray == 1 and rep.stray_s == (1e6,)
    u = to_uniform(clean)
    assert len(u) == pytest.approx(4000, abs=2)


def test_stamps_that_are_not_one_session_are_refused():
    """Half the data 11.6 days after the other half (a clock that jumped): not a glitch to drop,
    and no grid sized by it; one clear error instead."""
    from barback.analysis.timebase import TimestampError, clean_samples, to_uniform

    t = np.r_[np.arange(3000) / 100.0, 1e6 + np.arange(3000) / 100.0]
    s = _imu_stream(t)
    clean, rep = clean_samples(s.t_s, s.acc_sf_mps2, s.gyro_sf_rps)
    assert rep.n_stray == 0
    with pytest.raises(TimestampError, match="not one session"):
        to_uniform(clean)


def test_decimate_takes_block_means_stamped_at_their_centres():
    from barback.analysis.timebase import UniformStream, decimate

    n = 16
    acc = np.arange(3 * n, dtype=float).reshape(n, 3)
    gyro = -acc
    valid = np.ones(n, bool)
    valid[7] = False
    u = UniformStream(10.0, 200.0, acc, gyro, valid, False, ((10.03, 10.04),))
    d = decimate(u, 100.0)
    assert d.fs_hz == 100.0 and len(d) == 8
    assert d.t0_s == pytest.approx(10.0 + 0.5 / 200.0)  # the mean of the first block's two stamps
    assert np.array_equal(d.acc_sf_mps2[1], acc[2:4].mean(axis=0))
    assert np.array_equal(d.gyro_sf_rps[5], gyro[10:12].mean(axis=0))
    assert d.valid.tolist() == [True, True, True, False, True, True, True, True]  # the block holding sample 7
    assert d.gaps_s == u.gaps_s
    assert decimate(u, 200.0) is u and decimate(u, None) is u
    # 200 Hz to at most 60 Hz: blocks of four, 50 Hz
    assert decimate(u, 60.0).fs_hz == 50.0


def test_lumbar_sensors_are_worked_at_the_lumbar_rate_and_the_bar_at_its_own():
    from barback.analysis.config import PipelineSettings
    from barback.analysis.imu import Role
    from barback.analysis.orientation import prepare_stream

    t = np.arange(2000) / 200.0
    acc, gyro = _stream(t)
    s = ImuStream(t, acc, gyro)
    u_bar, _, rate_bar = prepare_stream(s, Role.BAR)
    u_lum, att, rate_lum = prepare_stream(s, Role.LUMBAR_UPPER, PipelineSettings(lumbar_rate_hz=100.0))
    assert rate_bar == rate_lum == pytest.approx(200.0)
    assert u_bar.fs_hz == pytest.approx(200.0) and u_lum.fs_hz == pytest.approx(100.0)
    assert len(att.up_sf) == len(u_lum) == 1000
