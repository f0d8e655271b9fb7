"""Clean a stream's timing and put it on a uniform grid.

Real recordings arrive with BLE batching (several samples share one arrival stamp), duplicated
rows, out-of-order rows and gaps of 0.1 to 0.7 s. The sensor itself samples at a fixed rate from a
crystal, so within a run without a gap, sample times lie on a straight line `t = a + b i`. We find
the runs (split at gaps), fit that line where the stamps are jittery, and resample onto a uniform
grid at the nominal rate, marking grid points that fall in gaps as not valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from barback.analysis.imu import FloatArray, ImuStream

# a run of samples this far (s) from all the others, holding a tiny share of them, is a clock
# glitch (a lying stamp, a wrapped counter), not data: it would stretch the grid by its distance
STRAY_GAP_S = 60.0
STRAY_MAX_SHARE = 0.01
STRAY_MAX_SAMPLES = 1000
# the uniform grid may hold at most this many times the samples, plus an hour of gaps: more is
# not one session (memory follows the data, never a timestamp)
MAX_GRID_FACTOR = 4.0
MAX_GRID_GAP_S = 3600.0


class TimestampError(ValueError):
    """Stamps that cannot be one session's: the caller names the file."""


@dataclass(frozen=True)
class UniformStream:
    """Samples on a uniform grid t = t0_s + k / fs_hz. `valid` is False inside gaps (bridged
    by linear interpolation)."""

    t0_s: float
    fs_hz: float
    acc_sf_mps2: FloatArray
    gyro_sf_rps: FloatArray
    valid: np.ndarray
    regularized: bool
    gaps_s: tuple[tuple[float, float], ...]

    @cached_property
    def t_s(self) -> FloatArray:  # built once: an hour's grid is 720,000 stamps, asked for per rep
        return self.t0_s + np.arange(len(self.valid)) / self.fs_hz

    def __len__(self) -> int:
        return int(len(self.valid))


@dataclass(frozen=True)
class CleanReport:
    n_in: int
    n_duplicates: int  # rows that repeat the previous sample's values (re-sent held samples)
    n_out_of_order: int
    n_stale: int = 0  # rows where one of the two sensors repeated its value while the other changed
    n_stray: int = 0  # samples dropped as stamped far from all the others (clock glitches)
    stray_s: tuple[float, ...] = ()  # where those were stamped


def clean_samples(t_s: FloatArray, acc: FloatArray, gyro: FloatArray,
                  collapse_repeats: bool = True) -> tuple[ImuStream, CleanReport]:
    """Sort by time and collapse repeated rows.

    A row that repeats the previous row's six values is the same sample sent again (a sender that
    re-sends the held sample, or a notification delivered twice), whatever its timestamp: a 16-bit
    IMU in use never gives six identical readings twice. It is dropped; its stamp is the sample's
    arrival, not its sampling. Distinct values under one stamp are a BLE batch and are kept.
    A row whose accelerometer repeats while its gyroscope changed (the two are read at different
    instants) has a stale accelerometer value: it is replaced by interpolation in time, and the
    same for a stale gyroscope. Samples stamped by the sensor's own counter
    (`collapse_repeats=False`) are distinct whatever their values; only a repeated stamp with the
    same values is dropped."""
    n_in = len(t_s)
    n_ooo = int(np.count_nonzero(np.diff(t_s) < 0))
    if n_ooo:
        order = np.argsort(t_s, kind="stable")
        t, a, g = t_s[order], acc[order], gyro[order]
    else:  # already in order (the usual case): no copies yet
        t, a, g = t_s, acc, gyro
    n_stale = 0
    if len(t) > 1:
        same_a = np.r_[False, np.all(a[1:] == a[:-1], axis=1)]
        same_g = np.r_[False, np.all(g[1:] == g[:-1], axis=1)]
        keep = ~(same_a & same_g)
        if not collapse_repeats:
            keep |= np.r_[True, np.diff(t) != 0]
        t, a, g = t[keep], a[keep], g[keep]  # copies: the caller's arrays are not changed below
        stale_a, stale_g = (same_a & ~same_g)[keep], (same_g & ~same_a)[keep]
        n_stale = int(stale_a.sum() + stale_g.sum())
        for x, stale in ((a, stale_a), (g, stale_g)):
            if stale.any() and (~stale).sum() >= 2:
                good = ~stale
                for k in range(3):
                    x[stale, k] = np.interp(t[stale], t[good], x[good, k])
    n_dup = n_in - len(t)
    t, a, g, stray_s = _drop_strays(t, a, g)
    return ImuStream(t, a, g), CleanReport(n_in, n_dup, n_ooo, n_stale, n_in - n_dup - len(t), stray_s)


def _drop_strays(t: np.ndarray, a: np.ndarray, g: np.ndarray):
    """Drop runs of samples stamped far (> STRAY_GAP_S) from all the others that hold only a tiny
    share of the data: a glitched packet or row, not a part of the session."""
    if len(t) < 2:
        return t, a, g, ()
    cuts = np.flatnonzero(np.diff(t) > STRAY_GAP_S) + 1
    if not cuts.size:
        return t, a, g, ()
    bounds = np.concatenate([[0], cuts, [len(t)]])
    limit = min(STRAY_MAX_SAMPLES, STRAY_MAX_SHARE * len(t))
    keep = np.ones(len(t), bool)
    stray = []
    for b0, b1 in zip(bounds[:-1], bounds[1:]):
        if b1 - b0 <= limit:
            keep[b0:b1] = False
            stray.append(float(t[b0]))
    if keep.all() or not keep.any():
        return t, a, g, ()
    return t[keep], a[keep], g[keep], tuple(stray)


def _gap_threshold(period_s: float) -> float:
    return max(1.8 * period_s, period_s + 0.075)


def _line_fit(y: np.ndarray) -> tuple[float, float]:
    """Least-squares y = icpt + slope * i over i = 0..n-1 (closed form)."""
    n = len(y)
    i_mean = (n - 1) / 2.0
    y_mean = float(y.mean())
    sxx = n * (n * n - 1) / 12.0
    slope = float(np.dot(np.arange(n) - i_mean, y - y_mean)) / sxx
    return slope, y_mean - slope * i_mean


def find_gaps(t_s: FloatArray, period_s: float, window: int = 50) -> np.ndarray:
    """Indices k where data is missing between samples k and k+1.

    A long stamp interval is either a real gap (samples lost: every later stamp is shifted
    against the sample count) or BLE batching (a wait followed by a burst: the stamps catch up).
    Comparing the stamp-minus-count residual just before and just after tells them apart."""
    dt = np.diff(t_s)
    cand = np.flatnonzero(dt > _gap_threshold(period_s))
    if cand.size == 0:
        return cand
    r = t_s - period_s * np.arange(len(t_s))
    real = []
    for k in cand:
        before = np.median(r[max(0, k - window):k + 1])
        after = np.median(r[k + 1:k + 1 + window])
        step = after - before
        if step > 0.5 * (dt[k] - period_s) or step > 0.05:
            real.append(k)
    return np.asarray(real, dtype=np.int64)


def nominal_period(t_s: FloatArray) -> float:
    """Nominal sample period, robust to batching (which makes most stamp differences ~0) and gaps."""
    p = (t_s[-1] - t_s[0]) / max(len(t_s) - 1, 1)
    for _ in range(3):
        gaps = find_gaps(t_s, p)
        bounds = np.concatenate([[0], gaps + 1, [len(t_s)]])
        # least-squares slope of stamp against sample count in each run, weighted by its length:
        # unlike first-to-last, it is not thrown by a batch at either end
        slopes, weights = [], []
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a >= 3:
                slopes.append(_line_fit(t_s[a:b])[0])
                weights.append(float(b - a) ** 3)  # slope variance falls as n^-3
        if not slopes or np.average(slopes, weights=weights) <= 0:
            break
        p = float(np.average(slopes, weights=weights))
    return float(p)


def _moving_mean(x: np.ndarray, half: int) -> np.ndarray:
    """Centred moving mean with a window of 2 half + 1 that shrinks symmetrically at the ends."""
    n = len(x)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(n)
    h = np.minimum(np.minimum(i, n - 1 - i), half)
    return (c[i + h + 1] - c[i - h]) / (2 * h + 1)


def _counts_hold(seg: np.ndarray, period_s: float) -> bool:
    """Whether a run's stamps follow the sample count (a crystal-timed sensor whose stamps are
    only delayed in batches): the residual from the straight line, smoothed over about a second,
    then stays within a sample period. A sender that skips or holds samples breaks the count,
    and the smoothed residual wanders."""
    n = len(seg)
    slope, icpt = _line_fit(seg)
    resid = seg - (icpt + slope * np.arange(n))
    half = max(2, int(0.5 / period_s))
    if n < 4 * half:
        return True
    sm = _moving_mean(resid, half)[half:-half]
    return float(np.ptp(sm)) <= 1.5 * period_s


def to_uniform(stream: ImuStream) -> UniformStream:
    """Recover each run's sample clock and resample onto a uniform grid.

    Runs are split at real gaps. In a run whose stamps are jittery, either the sample count holds
    (every sample delivered, stamps delayed in batches): the crystal's straight line is fitted,
    hugging the lower envelope since arrival is never earlier than sampling; or it does not (the
    sender skips, holds or loses samples, and stamps mark arrival in bursts): the arrival stamps
    are averaged over about 0.2 s, which keeps the local rate and removes the burst pattern."""
    t = stream.t_s
    if len(t) < 4:
        raise TimestampError(f"only {len(t)} sample(s): too few to analyse")
    if not np.all(np.isfinite(t)):
        raise TimestampError("timestamps that are not numbers")
    p = nominal_period(t)
    if not (np.isfinite(p) and p > 0):
        raise TimestampError(f"time does not advance: {len(t)} samples span {float(t[-1] - t[0]):.3g} s")
    breaks = find_gaps(t, p) + 1
    bounds = np.concatenate([[0], breaks, [len(t)]])
    t_reg = t.copy()
    regularized = False
    for b0, b1 in zip(bounds[:-1], bounds[1:]):
        n = b1 - b0
        if n < 8:
            continue
        seg = t[b0:b1]
        if np.std(np.diff(seg)) <= 0.25 * p:
            continue  # clean sample-clock stamps
        regularized = True
        if _counts_hold(seg, p):
            i = np.arange(n, dtype=float)
            slope, icpt = _line_fit(seg)
            resid = seg - (icpt + slope * i)
            t_reg[b0:b1] = icpt + slope * i + np.quantile(resid, 0.02)
        else:
            t_reg[b0:b1] = _moving_mean(seg, max(2, int(round(0.1 / p))))
    t_reg = np.maximum.accumulate(t_reg)
    # samples that share a time after smoothing carry no new timing: nudge them apart
    t_reg = t_reg + np.arange(len(t_reg)) * 1e-9
    fs = 1.0 / p
    span_s = float(t_reg[-1] - t_reg[0])
    if span_s * fs > MAX_GRID_FACTOR * len(t) + MAX_GRID_GAP_S * fs:
        raise TimestampError(f"{len(t)} samples at {fs:.0f} Hz are stamped over {span_s:.0f} s: the stamps "
                             "are not one session's (a clock that jumped or restarted?)")
    m = int(np.floor(span_s * fs)) + 1
    grid = t_reg[0] + np.arange(m) / fs
    acc = np.column_stack([np.interp(grid, t_reg, stream.acc_sf_mps2[:, k]) for k in range(3)])
    gyr = np.column_stack([np.interp(grid, t_reg, stream.gyro_sf_rps[:, k]) for k in range(3)])
    valid = np.ones(m, bool)
    gaps = []
    for b in breaks:
        g0, g1 = t_reg[b - 1], t_reg[b]
        gaps.append((float(g0), float(g1)))
        valid[(grid > g0 + 0.5 * p) & (grid < g1 - 0.5 * p)] = False
    return UniformStream(float(t_reg[0]), fs, acc, gyr, valid, regularized, tuple(gaps))


def decimate(u: UniformStream, max_rate_hz: float | None) -> UniformStream:
    """The stream at no more than `max_rate_hz`: each block of k samples (k the smallest whole
    number that brings the rate to the limit) becomes its mean, stamped at the block's centre. A
    block mean is a low-pass filter (-3 dB at 0.44 of the new rate) and, for the gyroscope, the
    exact mean rate over the block, so the rotation it integrates to is kept. A block with any
    sample inside a gap is marked inside it. Unchanged when the stream is slow enough already."""
    if max_rate_hz is None or u.fs_hz <= max_rate_hz:
        return u
    k = int(np.ceil(u.fs_hz / max_rate_hz - 1e-9))
    m = len(u) // k
    if k < 2 or m < 4:
        return u
    n = m * k
    acc = u.acc_sf_mps2[:n].reshape(m, k, 3).mean(axis=1)
    gyr = u.gyro_sf_rps[:n].reshape(m, k, 3).mean(axis=1)
    valid: np.ndarray = np.asarray(u.valid[:n].reshape(m, k).all(axis=1))
    return UniformStream(u.t0_s + 0.5 * (k - 1) / u.fs_hz, u.fs_hz / k, acc, gyr, valid, u.regularized, u.gaps_s)
