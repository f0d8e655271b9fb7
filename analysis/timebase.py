"""Clean a stream's timing and put it on a uniform grid.

Real recordings arrive with BLE batching (several samples share one arrival stamp), duplicated
rows, out-of-order rows and gaps of 0.1 to 0.7 s. The sensor itself samples at a fixed rate from a
crystal, so within a run without a gap, sample times lie on a straight line `t = a + b i`. We find
the runs (split at gaps), fit that line where the stamps are jittery, and resample onto a uniform
grid at the nominal rate, marking grid points that fall in gaps as not valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.imu import FloatArray, ImuStream


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

    @property
    def t_s(self) -> FloatArray:
        return self.t0_s + np.arange(len(self.valid)) / self.fs_hz

    def __len__(self) -> int:
        return int(len(self.valid))


@dataclass(frozen=True)
class CleanReport:
    n_in: int
    n_duplicates: int
    n_out_of_order: int


def clean_samples(t_s: FloatArray, acc: FloatArray, gyro: FloatArray) -> tuple[ImuStream, CleanReport]:
    """Sort by time, drop duplicated rows and repeated stamps (first kept)."""
    n_in = len(t_s)
    n_ooo = int(np.count_nonzero(np.diff(t_s) < 0))
    order = np.argsort(t_s, kind="stable")
    t, a, g = t_s[order], acc[order], gyro[order]
    keep = np.ones(len(t), bool)
    if len(t) > 1:
        d = np.diff(t)
        same_v = np.all(a[1:] == a[:-1], axis=1) & np.all(g[1:] == g[:-1], axis=1)
        # a repeated row: same values with the same stamp, or re-sent moments later. Distinct
        # values under one stamp are a BLE batch, not a duplicate.
        keep[1:] = ~(same_v & ((d == 0) | (d < 0.5 * np.median(d[d > 0]) if np.any(d > 0) else d == 0)))
    n_dup = int(np.count_nonzero(~keep))
    return ImuStream(t[keep], a[keep], g[keep]), CleanReport(n_in, n_dup, n_ooo)


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


def to_uniform(stream: ImuStream) -> UniformStream:
    """Regularise jittery stamps run by run and resample onto a uniform grid."""
    t = stream.t_s
    if len(t) < 4:
        raise ValueError("too few samples")
    p = nominal_period(t)
    breaks = find_gaps(t, p) + 1
    bounds = np.concatenate([[0], breaks, [len(t)]])
    t_reg = t.copy()
    regularized = False
    for b0, b1 in zip(bounds[:-1], bounds[1:]):
        n = b1 - b0
        if n < 8:
            continue
        i = np.arange(n, dtype=float)
        seg = t[b0:b1]
        slope, icpt = _line_fit(seg)
        resid = seg - (icpt + slope * i)
        if np.std(np.diff(seg)) > 0.25 * p:  # batched or jittery stamps: trust the crystal
            # arrival stamps are never earlier than the sample: hug the lower envelope
            t_reg[b0:b1] = icpt + slope * i + np.quantile(resid, 0.02)
            regularized = True
    t_reg = np.maximum.accumulate(t_reg)
    fs = 1.0 / p
    m = int(np.floor((t_reg[-1] - t_reg[0]) * fs)) + 1
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
