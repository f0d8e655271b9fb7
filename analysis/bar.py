"""Bar vertical acceleration, velocity and position from a bar-mounted IMU.

Nothing here needs the bar to rest. Vertical acceleration is the specific force along the vertical
minus the local g: projected on the estimated up when the attitude is good, else its magnitude (a
barbell moves almost only vertically, so |f| is g plus the vertical acceleration to second order
in the small horizontal part, whatever the attitude, roll or gyroscope offset). The local g is the
same quantity averaged over still periods when there are any, else its running mean over several
rep cycles (over a cycle that starts and ends at the same speed, mean vertical acceleration is
zero).

Integrating it drifts, so velocity is pinned to zero where the bar is known to be stationary
("anchors"):

* turnaround points: the lowest and highest points of every stroke, where vertical velocity is
  zero by definition. A band-passed double integral (drift removed over one rep period, the
  period taken from the autocorrelation of the set) finds them first; each is then moved to the
  zero crossing of the velocity integrated between its neighbours only (`refine_turnarounds`).
  Touch-and-go sets need nothing more;
* one point in the middle of every hold where the bar sways but does not travel (a lockout);
* still periods (the bar rests on the floor or in the rack), where there are any.

Between anchors the integration error is removed as a piecewise-linear function of time, which is
exact for a constant or linearly drifting accelerometer bias. Short data gaps (lost BLE packets)
are bridged; long ones break the integration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy.ndimage import uniform_filter1d

from barback.analysis.config import PipelineSettings
from barback.analysis.imu import FloatArray
from barback.analysis.orientation import Attitude, _runs, rotate_to_world, row_norm
from barback.analysis.timebase import UniformStream
from barback.analysis.units import G0_MPS2


@dataclass(frozen=True)
class BarTrack:
    t_s: FloatArray
    fs_hz: float
    acc_z_wf_mps2: FloatArray  # vertical acceleration, gravity removed
    vel_z_wf_mps: FloatArray
    pos_z_wf_m: FloatArray
    acc_h_wf_mps2: FloatArray  # (N, 2) horizontal acceleration, forward-pass world frame
    still: np.ndarray
    valid: np.ndarray
    anchors_idx: np.ndarray  # sample indices where velocity was pinned to zero (turnarounds)
    period_s: float = 3.0  # the set's rep period (autocorrelation), or the default
    strokes_idx: np.ndarray | None = None  # alternating turnarounds (lowest/highest points)
    strokes_kind: np.ndarray | None = None  # +1 highest, -1 lowest
    proxy_pos_m: np.ndarray | None = None  # band-passed position (shape, not amplitude)
    long_gap: np.ndarray | None = None  # samples inside gaps too long to integrate through
    # the bar's long axis from level (one end higher), degrees, unsigned; None where the axis
    # could not be found (see bar_long_axis)
    tilt_deg: FloatArray | None = None
    bar_axis_sf: FloatArray | None = None  # the long axis used for it
    rest_t_s: FloatArray | None = None  # the level rests it came from (see level_rests)
    rest_up_sf: FloatArray | None = None


def _cumtrapz(y: np.ndarray, dt: float) -> np.ndarray:
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum(0.5 * (y[1:] + y[:-1]) * dt, out=out[1:], axis=0)
    return out


def _pieces(valid: np.ndarray | None, n: int, fs_hz: float, max_bridge_s: float) -> list[tuple[int, int]]:
    """Index ranges integrated as one: split at gaps longer than `max_bridge_s`."""
    if valid is None or valid.all():
        return [(0, n)]
    starts = [a for a, _ in _long_gap_runs(valid, fs_hz, max_bridge_s)]
    bounds = [0, *starts, n]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _long_gap_runs(valid: np.ndarray, fs_hz: float, max_bridge_s: float) -> list[tuple[int, int]]:
    """Half-open index ranges of the gaps longer than `max_bridge_s`."""
    return [(a, b) for a, b in _runs(~valid) if b - a > max_bridge_s * fs_hz]


def anchored_velocity(acc: np.ndarray, fs_hz: float, zero_idx: np.ndarray,
                      valid: np.ndarray | None = None, max_bridge_s: float = PipelineSettings.max_bridge_s) -> np.ndarray:
    """Integrate acceleration and subtract the piecewise-linear error that makes velocity zero at
    every index in `zero_idx` (sorted). Without anchors, the raw integral is returned.

    A long data gap (`valid` False for more than `max_bridge_s`) breaks the integration: what was
    lost in it is unknown, so each stretch between long gaps is pinned by its own anchors (held
    constant beyond the outermost). Short gaps are integrated through."""
    n = len(acc)
    out = np.empty(n)
    for a, b in _pieces(valid, n, fs_hz, max_bridge_s):
        v = _cumtrapz(acc[a:b], 1.0 / fs_hz)
        z = zero_idx[(zero_idx >= a) & (zero_idx < b)] - a
        if len(z):
            v = v - np.interp(np.arange(b - a), z, v[z])
        out[a:b] = v
    return out


def fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: a length the FFT does fast (scipy.fft.next_fast_len, without
    loading scipy.fft, a sixth of a second of every start)."""
    n = int(n)
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _autocorrelation(x: np.ndarray, received: np.ndarray | None, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation of `x` (zero where nothing was received) for lags 0..max_lag,
    each lag averaged over the pairs of samples both received, not over the whole length: a set
    with a third of its data lost keeps the height of its peaks."""
    n = len(x)
    m = fft_length(n + max_lag + 1)  # zero padding past the largest lag: no wrap-around
    f = np.fft.rfft(x, m)
    ac = np.fft.irfft(f * np.conj(f), m)[:max_lag + 1]
    if received is None:
        pairs = n - np.arange(max_lag + 1, dtype=float)
    else:
        fm = np.fft.rfft(received.astype(float), m)
        pairs = np.fft.irfft(fm * np.conj(fm), m)[:max_lag + 1]
    ac = ac / np.maximum(pairs, 0.1 * pairs[0])
    return ac / ac[0] if ac[0] > 0 else ac


def rep_period(acc_z: np.ndarray, fs_hz: float, valid: np.ndarray | None = None, lo_s: float = 1.2,
               hi_s: float = 8.0, default_s: float = 3.0, settings: PipelineSettings = PipelineSettings()) -> float:
    """The dominant rep period: the first strong peak between `lo_s` and `hi_s` of the
    autocorrelation of the vertical acceleration; `default_s` when there is none. Samples not
    received (`valid` False) take no part.

    The acceleration has several lobes per rep (a squat's descent and rise are each a push and a
    brake), so that its autocorrelation may peak higher at two periods than at one when the reps
    vary. The velocity has one cycle per rep, up and down, and opposes itself at half a period:
    a period is halved when the velocity (the acceleration's integral, its drift slower than the
    period removed) repeats itself at half of it."""
    x = np.asarray(acc_z, float)
    ok = np.ones(len(x), bool) if valid is None else np.asarray(valid, bool)
    n = len(x)
    lo, hi = int(lo_s * fs_hz), min(int(hi_s * fs_hz), n // 2)
    if hi <= lo + 2 or ok.sum() < 2:
        return default_s
    x = np.where(ok, x - x[ok].mean(), 0.0)
    if not np.any(x):
        return default_s
    # under 1 % lost, the pairs received at each lag are n - lag to within 1 %: not worth an FFT
    received = None if ok.mean() > 0.99 else ok
    seg = _autocorrelation(x, received, hi)[lo:hi + 1]
    peaks = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + 1
    peaks = peaks[seg[peaks] > 0.15]
    if not len(peaks):
        return default_s
    best = peaks[np.argmax(seg[peaks])]
    lag = lo + peaks[seg[peaks] >= 0.7 * seg[best]][0]  # the fundamental, not a multiple of it
    if lag // 2 >= lo:
        # a yes or no at half the lag: on the velocity in blocks of 40 ms at most (an hour at
        # 200 Hz is 720,000 samples; its shape over a rep is all that matters here)
        q = max(1, int(fs_hz / settings.half_period_check_hz))
        m = n // q
        vel = (np.cumsum(x) / fs_hz)[:m * q].reshape(m, q).mean(axis=1)
        got = np.asarray(ok[:m * q].reshape(m, q).any(axis=1), bool)
        lag_q, half_q, lo_q = lag // q, lag // (2 * q), int(np.ceil(lo / q))
        w = max(3, lag_q)  # drift slower than the candidate period removed
        for _ in range(2):  # a steep high-pass: the residual of a moving mean, twice
            vel = vel - uniform_filter1d(vel, w, mode="nearest")
        ac_v = _autocorrelation(np.where(got, vel, 0.0), None if got.mean() > 0.99 else got, lag_q)
        near = slice(max(lo_q, int(0.85 * half_q)), int(1.15 * half_q) + 1)
        if near.stop > near.start:
            k = near.start + int(np.argmax(ac_v[near]))
            if ac_v[k] >= settings.half_period_velocity_min:
                lag = k * q
    return float(lag / fs_hz)


def _highpass_box(x: np.ndarray, w: int) -> np.ndarray:
    """x minus its twice box-smoothed trend over `w` samples (zero phase)."""
    if w < 3 or len(x) < w:
        return x - x.mean()
    # means over what lies in the window: at the ends, not over copies of the first or last sample
    count = uniform_filter1d(np.ones(len(x)), w, mode="constant")
    trend = x
    for _ in range(2):
        trend = uniform_filter1d(trend, w, mode="constant") / count
    return x - trend


def band_passed(acc_z: np.ndarray, fs_hz: float, period_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Band-passed velocity and position: drift removed over one rep period after each
    integration. The position's extrema are the turnarounds, to within a few samples, without a
    single anchor; its amplitude is not the range of motion."""
    w = max(3, int(round(period_s * fs_hz)))
    dt = 1.0 / fs_hz
    v = _highpass_box(_cumtrapz(acc_z, dt), w)
    return v, _highpass_box(_cumtrapz(v, dt), w)


def vertical_specific_force(acc_sf: np.ndarray, up_sf: np.ndarray, fs_hz: float,
                            max_tilt_err_deg: float = 2.0) -> np.ndarray:
    """Specific force along the vertical: projected on the estimated up when the attitude is
    good, else its magnitude.

    The projection is exact with a good attitude. The magnitude needs none and errs by
    a_h^2 / 2g (0.05 m/s² at 1 m/s² sideways), which is better than a tilt that is a few degrees
    off. Over a second the bar's horizontal accelerations average out, so the low-passed specific
    force points up: its median angle from the estimated up measures the attitude's error."""
    w = max(3, int(round(1.0 * fs_hz)))
    f_lp = uniform_filter1d(acc_sf, w, axis=0, mode="nearest")
    cos = np.einsum("ij,ij->i", f_lp, up_sf) / np.maximum(row_norm(f_lp), 1e-9)
    err_deg = float(np.degrees(np.arccos(np.clip(np.median(cos), -1.0, 1.0))))
    if err_deg <= max_tilt_err_deg:
        return np.einsum("ij,ij->i", acc_sf, up_sf)
    return row_norm(acc_sf)


def white_noise(x: np.ndarray) -> float:
    """The standard deviation of x's white noise, from its sample-to-sample differences (robust:
    the median, so the motion's few steep steps do not count)."""
    return 1.4826 * float(np.median(np.abs(np.diff(x)))) / np.sqrt(2.0)


def held_anchors(acc_z: np.ndarray, vel_bp: np.ndarray, still: np.ndarray, fs_hz: float,
                 min_s: float = 0.6, max_speed_mps: float = 0.06, max_acc_mps2: float = 0.4) -> np.ndarray:
    """One anchor in the middle of every hold that is not a rest: a lockout, a bar on the back
    between squats, a pause at the floor with the hands on the bar. The bar sways there, so it
    is never still, but its velocity stays within a few cm/s of zero: small enough to pin."""
    w = max(3, int(0.25 * fs_hz))
    quiet = (np.abs(vel_bp) < max_speed_mps) & (uniform_filter1d(np.abs(acc_z), w, mode="nearest") < max_acc_mps2)
    quiet &= ~still
    return np.asarray([(a + b) // 2 for a, b in _runs(quiet) if b - a >= min_s * fs_hz], dtype=np.int64)


def turnaround_holds(acc_z: np.ndarray, vel: np.ndarray, turns: np.ndarray, excluded: np.ndarray,
                     fs_hz: float, period_s: float, min_s: float = 0.12, reach: float = 0.3,
                     settings: PipelineSettings = PipelineSettings(), pos_bp: np.ndarray | None = None,
                     long_gap: np.ndarray | None = None) -> np.ndarray:
    """Sample indices of the pauses at turnarounds, to pin.

    A bar that stops at the top or the bottom of a stroke (a lockout, a dead stop on the floor, a
    bar held on the back) feels no acceleration while it waits, beyond sway and noise: a quiet run
    (smoothed |a| under a noise-adapted limit, at least `min_s` long). A bar cruising at constant
    speed is quiet too. Physics tells them apart without any velocity: a pause is entered and left
    with acceleration of the same sign (down into a lockout and down out of it; up into a dead
    stop on the floor and up out of it), a cruise with opposite signs (speeding up, then slowing).
    A pull whose speed levels off and rises again (past a sticking point) passes that test, so the
    velocity anchored on the turnarounds alone (`vel`) must also be slow there, against the set's
    top speeds. Pinning all of a pause is much surer than pinning one point of a slope. Only
    pauses within `reach` rep periods of a turnaround of the band-passed height count;
    touch-and-go turnarounds have none. For a lift whose bar is put on the floor between reps
    (`long_gap` and `pos_bp` given), a pause entered from a long gap, whose entry and velocity
    were not received (integration starts afresh there), is told from a plateau by where it lies
    on the band-passed height: in the lowest quarter of its stroke, where the floor is and a pull
    has no plateau. (At a Romanian deadlift's bottom the bar turns slowly in the hands: pinning
    its quiet run there made its velocity worse.)"""
    n = len(acc_z)
    if not len(turns) or n < 4:
        return np.zeros(0, np.int64)
    w = max(2, int(round(0.1 * fs_hz)))
    sigma = white_noise(acc_z)
    limit = max(settings.quiet_acc_mps2, 4.0 * sigma / np.sqrt(w))
    sm = uniform_filter1d(acc_z, w, mode="nearest")
    quiet = (np.abs(sm) < limit) & ~excluded
    loud = np.flatnonzero(np.abs(sm) > 1.5 * limit)
    look = int(0.8 * fs_hz)
    h = reach * period_s * fs_hz
    slow = max(settings.hold_max_speed_mps, settings.hold_max_speed_fraction * float(np.quantile(vel, 0.98)))
    pins = []
    for a, b in _runs(quiet):
        if b - a < min_s * fs_hz:
            continue
        k = int(np.searchsorted(loud, a))  # the loud samples just before and just after the run
        before = loud[k - 1] if k and a - loud[k - 1] <= look else None
        after = loud[k] if k < len(loud) and loud[k] - b < look else None
        at_edge = b == n  # the bar settled before the recording (or the window) ended
        if at_edge and b - a < settings.edge_hold_s * fs_hz:
            continue
        # entered from a long gap: neither the entry's acceleration nor the velocity is known
        from_gap = pos_bp is not None and long_gap is not None and bool(long_gap[max(0, a - w):a].any())
        if pos_bp is not None and from_gap:
            if at_edge or after is None or not _at_stroke_bottom(pos_bp, turns, a, b):
                continue
        elif not at_edge and (before is None or after is None or np.sign(sm[before]) != np.sign(sm[after])):
            continue  # a cruise, or too long and quiet to tell (a rest is found as a rest)
        if np.min(np.maximum(0, np.maximum(a - turns, turns - (b - 1)))) > h:
            continue
        if not from_gap and np.median(np.abs(vel[a:b])) > slow and not (at_edge and b - a >= 2 * settings.edge_hold_s * fs_hz):
            continue  # a plateau in a pull (a second of quiet at the end is the bar put down)
        pins.append(np.arange(a, b))
    return np.concatenate(pins) if pins else np.zeros(0, np.int64)


def _at_stroke_bottom(pos_bp: np.ndarray, turns: np.ndarray, a: int, b: int, share: float = 0.25) -> bool:
    """Samples a..b lie within `share` of the way up from the lowest point of the band-passed
    stroke around them (the turnarounds `turns` either side)."""
    k = int(np.searchsorted(turns, (a + b) // 2))
    if k == 0 or k >= len(turns):
        return False
    lo, hi = sorted((float(pos_bp[turns[k - 1]]), float(pos_bp[turns[k]])))
    if hi - lo <= 0:
        return False
    x = (float(np.median(pos_bp[a:b])) - lo) / (hi - lo)
    return x <= share


def _drop_mid_stroke_rests(still: np.ndarray, pos_bp: np.ndarray, turns: np.ndarray,
                           kinds: np.ndarray, lo: float = 0.25, hi: float = 0.75) -> np.ndarray:
    """A bar rests at the bottom or the top of its strokes, never halfway up. A slow grind at
    constant speed looks still to an accelerometer and a gyroscope for seconds, and its fragments
    vouch for each other; but on the band-passed height they sit between the stroke's lowest and
    highest point (between `lo` and `hi` of the way), where no rest is."""
    out = still.copy()
    if len(turns) < 2:
        return out
    for a, b in _runs(still):
        k = int(np.searchsorted(turns, a))
        if k == 0 or k >= len(turns) or turns[k] < b or kinds[k - 1] == kinds[k]:
            continue  # a turnaround inside the run, or no stroke around it
        p0, p1 = pos_bp[turns[k - 1]], pos_bp[turns[k]]
        if p1 == p0:
            continue
        frac = (float(np.median(pos_bp[a:b])) - p0) / (p1 - p0)
        if lo < frac < hi:
            out[a:b] = False
    return out


def _drop_moving_rests(still: np.ndarray, vel_bp: np.ndarray, max_speed_mps: float = 0.12) -> np.ndarray:
    """A rest is where the bar does not move: a steady descent looks still to an accelerometer
    and a gyroscope, but not to the band-passed velocity."""
    out = still.copy()
    for a, b in _runs(still):
        if np.median(np.abs(vel_bp[a:b])) > max_speed_mps:  # the median: the filter smears the edges
            out[a:b] = False
    return out


def gravity_level(f_up: np.ndarray, att: Attitude, fs_hz: float, period_s: float,
                  valid: np.ndarray, settings: PipelineSettings = PipelineSettings()) -> np.ndarray:
    """Local g as the accelerometer measures it along the same vertical.

    Its running mean over several rep periods, over the samples that were received (not what was
    interpolated across gaps), is right without a single rest: over a cycle that starts and ends at
    the same speed, mean vertical acceleration is zero. Where the bar truly rests, the mean over
    the rest is better still; but an accelerometer and a gyroscope take a slow, steady lowering for
    a rest, so a rest is used only where the band-passed velocity shows no travel and its level
    agrees with the running mean to within what the running mean can be wrong by."""
    w = max(1, int(min(len(f_up), max(4.0 * period_s, 8.0) * fs_hz)))
    # zero-padded sums over the window: at the recording's ends the mean is over what there is,
    # not over copies of its first or last sample
    num = uniform_filter1d(np.where(valid, f_up, 0.0), w, mode="constant")
    den = uniform_filter1d(valid.astype(float), w, mode="constant")
    fallback = float(np.median(f_up[valid])) if valid.any() else G0_MPS2
    running = np.where(den > 0.05, num / np.maximum(den, 1e-9), fallback)
    if not att.n_still_periods:
        return running
    vel_bp, _ = band_passed(np.where(valid, f_up - running, 0.0), fs_hz, period_s)
    rests = _drop_moving_rests(att.still & valid, vel_bp)
    runs = [(a, b) for a, b in _runs(rests) if b - a >= 0.4 * fs_hz
            and abs(float(np.mean(f_up[a:b] - running[a:b]))) < settings.gravity_agreement_mps2]
    if not runs:
        return running
    centres = [0.5 * (a + b - 1) for a, b in runs]
    return np.interp(np.arange(len(f_up)), centres, [float(np.mean(f_up[a:b])) for a, b in runs])


@njit(cache=True, nogil=True)
def _zigzag(x, swing):  # pragma: no cover - compiled
    """Alternating extrema of x whose swings are at least `swing` (hysteresis). Returns indices
    and kinds (+1 high, -1 low); the last, still-open extremum is included."""
    n = x.shape[0]
    idx = np.empty(n, np.int64)
    kind = np.empty(n, np.int64)
    m = 0
    if n == 0:
        return idx[:0], kind[:0]
    hi_i = lo_i = 0
    direction = 0  # 0 unknown, +1 rising (tracking a high), -1 falling (tracking a low)
    for i in range(1, n):
        if direction >= 0:
            if x[i] > x[hi_i]:
                hi_i = i
            if direction == 1 and x[hi_i] - x[i] >= swing:
                idx[m] = hi_i
                kind[m] = 1
                m += 1
                direction = -1
                lo_i = i
                continue
        if direction <= 0:
            if x[i] < x[lo_i]:
                lo_i = i
            if direction == -1 and x[i] - x[lo_i] >= swing:
                idx[m] = lo_i
                kind[m] = -1
                m += 1
                direction = 1
                hi_i = i
                continue
        if direction == 0:
            if x[hi_i] - x[lo_i] >= swing:
                if hi_i > lo_i:
                    idx[m] = lo_i
                    kind[m] = -1
                    m += 1
                    direction = 1
                else:
                    idx[m] = hi_i
                    kind[m] = 1
                    m += 1
                    direction = -1
    if direction == 1:
        idx[m] = hi_i
        kind[m] = 1
        m += 1
    elif direction == -1:
        idx[m] = lo_i
        kind[m] = -1
        m += 1
    return idx[:m], kind[:m]


def extrema(pos_m: np.ndarray, swing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Alternating lowest and highest points separated by at least `swing_m` of travel."""
    return _zigzag(np.ascontiguousarray(pos_m, dtype=np.float64), float(swing_m))


def turnarounds(pos_m: np.ndarray, still: np.ndarray, fs_hz: float, prominence_m: float,
                min_segment_s: float) -> np.ndarray:
    """Indices of highest and lowest points (swings of at least `prominence_m`) inside long
    motion segments.

    Short segments are already pinned by the still periods on both sides; a turnaround anchor
    there could only add error."""
    idx, _ = extrema(pos_m, prominence_m)
    moving = ~still
    d = np.diff(np.concatenate([[0], moving.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = np.zeros(len(idx), bool)
    margin = int(0.3 * fs_hz)
    for a, b in zip(starts, ends):
        if b - a >= min_segment_s * fs_hz:
            keep |= (idx >= a + margin) & (idx < b - margin)
    return idx[keep]


def trim_moving_ends(acc_up: np.ndarray, still: np.ndarray, fs_hz: float,
                     settings: PipelineSettings = PipelineSettings()) -> np.ndarray:
    """A rest that the bar leaves, or arrives at, slowly is taken for still beyond its end: a
    slow grind's first half second lifts at 0.5 m/s² or less, under the detector's noise-adapted
    limits. At rest the acceleration integrates to nothing but noise: from the start of a still run
    forwards (a rest, then the bar moving off) or from its end backwards (the bar arriving, then a
    rest), the speed it adds up to stays within `rest_trim_sigmas` of the noise's random walk
    (never under `rest_trim_min_speed_mps`). Where it leaves that bound, the bar is moving: the run
    ends (or starts) there, the side that keeps more of it rest. Runs longer than
    `rest_trim_max_run_s` are rests between sets, their level the gravity's own."""
    sigma = white_noise(acc_up)
    dt = 1.0 / fs_hz
    out = still.copy()
    for a, b in _runs(still):
        n = b - a
        if n > settings.rest_trim_max_run_s * fs_hz:
            continue
        thr = max(settings.rest_trim_min_speed_mps, settings.rest_trim_sigmas * sigma * dt * np.sqrt(n))
        f = np.abs(np.cumsum(acc_up[a:b]) * dt)  # the speed from rest at the start
        r = np.abs(np.cumsum(acc_up[a:b][::-1]) * dt)[::-1]  # the speed to rest at the end
        over_f, over_r = np.flatnonzero(f > thr), np.flatnonzero(r > thr)
        if not len(over_f) and not len(over_r):
            continue
        keep_f = over_f[0] if len(over_f) else n  # the rest, then the bar moving off
        keep_r = n - 1 - over_r[-1] if len(over_r) else n  # the bar arriving, then the rest
        if keep_f >= keep_r:
            out[a + keep_f:b] = False
        else:
            out[a:b - keep_r] = False
    return out


def confirm_rests(acc_up: np.ndarray, still: np.ndarray, fs_hz: float, max_speed_mps: float = 0.05,
                  max_run_s: float = 8.0, horizon_s: float = 5.0, valid: np.ndarray | None = None) -> np.ndarray:
    """Drop still runs that are really steady motion.

    An accelerometer cannot tell rest from constant velocity, and a slow grinding rep can look
    still for seconds. Integrating from the neighbouring rests, forwards and backwards, tells them
    apart: at a true rest the speed carried in from either side is near zero. Only neighbours
    within `horizon_s`, and no integration across a data gap, are used, so neither drift nor a
    gap can condemn a true rest."""
    still = still.copy()
    dt = 1.0 / fs_hz
    for _ in range(2):
        d = np.diff(np.concatenate([[0], still.astype(np.int8), [0]]))
        runs: list[tuple[int, int]] = []
        for a, b in zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()):
            if runs and a - runs[-1][1] < 0.15 * fs_hz:  # fragments of one rest (or one fake)
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
        changed = False
        for k, (a, b) in enumerate(runs):
            if b - a >= max_run_s * fs_hz:
                continue
            prev_end = runs[k - 1][1] if k > 0 else None
            next_start = runs[k + 1][0] if k + 1 < len(runs) else None
            v_f = v_b = np.inf
            if prev_end is not None and a - prev_end <= horizon_s * fs_hz and (valid is None or valid[prev_end:a].all()):
                v_f = abs(float(np.sum(acc_up[prev_end:a]) * dt))
            if next_start is not None and next_start - b <= horizon_s * fs_hz and (
                    valid is None or valid[b:next_start].all()):
                v_b = abs(float(np.sum(acc_up[b:next_start]) * dt))
            if min(v_f, v_b) > max_speed_mps and np.isfinite(min(v_f, v_b)):
                still[a:b] = False
                changed = True
        if not changed:
            break
    return still


def refine_turnarounds(acc: np.ndarray, fs_hz: float, turn: np.ndarray, kind: np.ndarray,
                       still_idx: np.ndarray, half_window: int, broken: np.ndarray) -> np.ndarray:
    """Move each turnaround to where vertical velocity really crosses zero.

    Anchoring makes velocity zero at an anchor, so the anchored track always agrees with its own
    anchors; the test must leave the anchor out. For each turnaround, velocity is integrated
    between its neighbouring anchors only (zero at both), and the turnaround moves to that
    velocity's zero crossing of the right direction (falling for a top, rising for a bottom)
    nearest to it, within `half_window` samples. `broken` (cumulative count of long gaps) keeps a
    neighbour across a long gap from being used."""
    V = _cumtrapz(acc, 1.0 / fs_hz)
    out = turn.copy()
    for k, (i, kd) in enumerate(zip(turn, kind)):
        # neighbours: the nearest anchor on either side, a still sample or a turnaround
        before, after = int(np.searchsorted(still_idx, i)), int(np.searchsorted(still_idx, i, side="right"))
        prev = ([int(still_idx[before - 1])] if before else []) + ([int(turn[k - 1])] if k else [])
        nxt = ([int(still_idx[after])] if after < len(still_idx) else []) + \
              ([int(turn[k + 1])] if k + 1 < len(turn) else [])
        if not prev or not nxt:
            continue
        p, q = max(prev), min(nxt)
        if not p < i < q or broken[p] != broken[q]:
            continue
        a, b = max(p, i - half_window), min(q, i + half_window)
        if b - a < 2:
            continue
        j = np.arange(a, b + 1)
        v = V[j] - V[p] - (V[q] - V[p]) * (j - p) / (q - p)
        if kd > 0:  # a top: velocity falls through zero; a bottom: it rises through zero
            cross = np.flatnonzero((v[:-1] > 0) & (v[1:] <= 0))
        else:
            cross = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0))
        if len(cross):
            c = int(cross[np.argmin(np.abs(a + cross - i))])
            out[k] = a + c + (1 if abs(v[c + 1]) < abs(v[c]) else 0)
        else:  # no reversal in reach (the turnaround is the edge of a rest): where it is slowest
            out[k] = a + int(np.argmin(np.abs(v)))
    return out


def standing_closure(track: BarTrack, settings: PipelineSettings = PipelineSettings()) -> BarTrack:
    """The track with its turnarounds' speeds corrected so that the bar comes back to the same
    standing height after every rep, to within `closure_height_m`.

    A squatter stands tall between reps, so from one top of the bar's path to the next its height
    gains nothing. A measured gain is a speed error, and most of it sits at the turnarounds: a
    bottom with no pause is pinned where the integrated speed crosses zero, and that speed carries
    the descent's noise. Each turnaround's speed error is given a prior: `closure_pinned_mps` where
    the bar is pinned over a rest or a hold, else `closure_anchor_mps` plus `closure_per_lost_s`
    per second of data lost within 0.6 s. The errors that best explain the gains (least squares,
    over each run of tops linked by cycles no longer than three rep periods and no long gap) are
    removed, linearly between turnarounds. Nothing changes at rests and in long gaps."""
    st = settings
    S, K = track.strokes_idx, track.strokes_kind
    if S is None or K is None or len(S) < 3:
        return track
    vel, dt = track.vel_z_wf_mps, 1.0 / track.fs_hz
    long_gap = track.long_gap if track.long_gap is not None else np.zeros(len(vel), bool)
    z = track.pos_z_wf_m
    half = int(0.6 * track.fs_hz)
    sigma = np.empty(len(S))
    for k, i in enumerate(S):
        pinned = bool(track.still[i]) or bool(np.all(vel[max(0, i - 2):i + 3] == 0.0))
        lost_s = np.count_nonzero(~track.valid[max(0, i - half):i + half]) * dt
        sigma[k] = st.closure_pinned_mps if pinned else st.closure_anchor_mps + st.closure_per_lost_s * lost_s
    T = np.diff(S) * dt
    broken = np.cumsum(long_gap)
    cycles = [k for k in range(len(S) - 2) if K[k] == 1 and K[k + 2] == 1 and broken[S[k]] == broken[S[k + 2]]
              and T[k] + T[k + 1] <= 3.0 * track.period_s]
    delta = np.zeros(len(S))
    j = 0
    while j < len(cycles):  # runs of cycles that share turnarounds, each solved on its own
        run = [cycles[j]]
        while j + 1 < len(cycles) and cycles[j + 1] <= run[-1] + 2:
            j += 1
            run.append(cycles[j])
        j += 1
        lo, hi = run[0], run[-1] + 2
        m = hi - lo + 1
        rows = np.zeros((len(run) + m, m))
        rhs = np.zeros(len(run) + m)
        for r, k in enumerate(run):  # the height gained over the cycle, with the speed errors added
            c = k - lo
            rows[r, c] += 0.5 * T[k]
            rows[r, c + 1] += 0.5 * (T[k] + T[k + 1])
            rows[r, c + 2] += 0.5 * T[k + 1]
            rhs[r] = -(z[S[k + 2]] - z[S[k]])
        rows[:len(run)] /= st.closure_height_m
        rhs[:len(run)] /= st.closure_height_m
        rows[len(run):, :] = np.diag(1.0 / sigma[lo:hi + 1])
        delta[lo:hi + 1] = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    if not np.any(delta):
        return track
    corr = np.interp(np.arange(len(vel)), S, delta, left=0.0, right=0.0)
    corr[track.still | long_gap] = 0.0
    v = vel + corr
    return replace(track, vel_z_wf_mps=v, pos_z_wf_m=_cumtrapz(v, dt))


def track_bar(s: UniformStream, att: Attitude, settings: PipelineSettings = PipelineSettings(),
              prominence_m: float = 0.04, axis_sf: np.ndarray | None = None, floor_rests: bool = False) -> BarTrack:
    """Vertical kinematics of the bar sensor on its uniform grid. `axis_sf`: the bar's long axis
    in the sensor frame where already known (live analysis of a window, from the rests so far).
    `floor_rests`: the lift puts the bar on the floor between reps (see turnaround_holds)."""
    acc_sf = s.acc_sf_mps2 - att.acc_bias_sf_mps2
    f_up = vertical_specific_force(acc_sf, att.up_sf, s.fs_hz)
    first = f_up - np.asarray(att.gravity_mps2, float) if att.n_still_periods else f_up - np.median(f_up)
    period = rep_period(first, s.fs_hz, s.valid, settings=settings)
    acc_up = f_up - gravity_level(f_up, att, s.fs_hz, period, s.valid, settings)
    long_gap = np.zeros(len(acc_up), bool)
    broken = np.zeros(len(acc_up), np.int64)  # how many long gaps lie before each sample
    for a, b in _long_gap_runs(s.valid, s.fs_hz, settings.max_bridge_s):
        long_gap[a:b] = True
        broken[a:] += 1
    acc_up[long_gap] = 0.0  # across a long gap nothing is known
    vel_bp, pos_bp = band_passed(acc_up, s.fs_hz, period)
    strokes, strokes_kind = extrema(pos_bp, 0.5 * prominence_m)
    still = _drop_mid_stroke_rests(_drop_moving_rests(att.still, vel_bp), pos_bp, strokes, strokes_kind)
    still = confirm_rests(acc_up, still, s.fs_hz, valid=s.valid)
    still = trim_moving_ends(acc_up, still, s.fs_hz, settings)
    acc_up[still] = 0.0
    # anchors: the proxy's turnarounds (no rest needed), each refined on the anchored velocity;
    # then, where the bar pauses at one (a lockout, a dead stop on the floor), the whole pause
    half = max(2, int(min(0.5, 0.3 * period) * s.fs_hz))
    open_end_quiet = bool(len(strokes)) and abs(float(np.mean(
        acc_up[max(0, strokes[-1] - int(0.05 * s.fs_hz)):strokes[-1] + int(0.05 * s.fs_hz) + 1]))) < settings.quiet_acc_mps2

    def anchor(pinned: np.ndarray, strokes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # sorted and unique (held anchors lie outside the pinned samples): marked on a mask, not
        # sorted, as the pinned samples of an hour are half a million
        marked = pinned.copy()
        marked[held_anchors(acc_up, vel_bp, pinned, s.fs_hz)] = True
        fixed = np.flatnonzero(marked)
        moving = ~pinned[strokes]
        if len(moving) and not open_end_quiet:  # the last extremum is still open (no reversal
            moving[-1] = False                   # after it yet): a turnaround only if quiet there
        turn, kind = strokes[moving], strokes_kind[moving]  # a rest is already an anchor
        for _ in range(3):
            new = refine_turnarounds(acc_up, s.fs_hz, turn, kind, fixed, half, broken)
            if np.array_equal(new, turn):
                break
            turn = new
        marked[turn] = True  # the anchors, sorted and unique, from the mask (no sort of half a million)
        v = anchored_velocity(acc_up, s.fs_hz, np.flatnonzero(marked), s.valid, settings.max_bridge_s)
        return v, turn, moving

    vel, turn, moving = anchor(still, strokes)
    strokes = strokes.copy()
    strokes[moving] = turn
    holds = turnaround_holds(acc_up, vel, strokes, still | ~s.valid, s.fs_hz, period, settings=settings,
                             pos_bp=pos_bp if floor_rests else None, long_gap=long_gap if floor_rests else None)
    if len(holds):
        pinned = still.copy()
        pinned[holds] = True
        # refined from the first pass's places; a paused turnaround keeps its place
        vel, turn, moving = anchor(pinned, strokes)
        strokes[moving] = turn
    pos = _cumtrapz(vel, 1.0 / s.fs_hz)
    acc_wf = rotate_to_world(att.quat_ws, acc_sf)
    rest_t, rest_up = level_rests(att.up_sf, s.t_s, s.valid, att.still, s.fs_hz, settings)
    axis = axis_sf if axis_sf is not None else long_axis_from_rests(rest_up, settings)
    tilt = bar_tilt_deg(axis, att.up_sf, s.fs_hz, settings) if axis is not None else None
    return BarTrack(t_s=s.t_s, fs_hz=s.fs_hz, acc_z_wf_mps2=acc_up, vel_z_wf_mps=vel, pos_z_wf_m=pos,
                    acc_h_wf_mps2=acc_wf[:, :2], still=still, valid=s.valid, anchors_idx=turn, period_s=period,
                    strokes_idx=strokes, strokes_kind=strokes_kind, proxy_pos_m=pos_bp, long_gap=long_gap,
                    tilt_deg=tilt, bar_axis_sf=axis, rest_t_s=rest_t, rest_up_sf=rest_up)


def level_rests(up_sf: np.ndarray, t_s: np.ndarray, valid: np.ndarray, still: np.ndarray, fs_hz: float,
                settings: PipelineSettings = PipelineSettings()) -> tuple[np.ndarray, np.ndarray]:
    """The bar's rests of `settings.bar_axis_rest_s` or more (on the floor on its plates, in the
    rack, on the back: level): their mid times (K,) and world-up in the sensor frame (K, 3)."""
    rests = [(a, b) for a, b in _runs(still & valid) if b - a >= settings.bar_axis_rest_s * fs_hz]
    if not rests:
        return np.empty(0), np.empty((0, 3))
    ups = np.array([up_sf[a:b].mean(axis=0) for a, b in rests])
    return np.array([t_s[(a + b - 1) // 2] for a, b in rests]), ups / row_norm(ups)[:, None]


def long_axis_from_rests(rest_up_sf: np.ndarray, settings: PipelineSettings = PipelineSettings()) -> np.ndarray | None:
    """The bar's long axis in the sensor frame, or None where the rests cannot tell it.

    A bar at rest lies level, at whatever roll it was left in: world-up in the sensor frame then
    lies in the plane normal to the long axis. Rests at rolls at least
    `settings.bar_axis_rest_spread_deg` apart give the axis as that plane's normal; rests at one
    roll count once (a set's many rests on the floor must not outweigh the one after the bar was
    rolled). A bar never set down at different rolls gives none: its dominant turning direction
    would be a guess (on simulated commodity sets it put a level bar 2 to 6 deg off)."""
    ups = np.asarray(rest_up_sf, float).reshape(-1, 3)
    if len(ups) < 3:
        return None
    same = np.cos(np.deg2rad(0.5 * settings.bar_axis_rest_spread_deg))
    groups: list[list[np.ndarray]] = []
    for u in ups:
        for g in groups:
            if float(u @ g[0]) > same:
                g.append(u)
                break
        else:
            groups.append([u])
    if len(groups) < 2:
        return None
    means = np.array([np.mean(g, axis=0) for g in groups])
    means /= row_norm(means)[:, None]
    if float(np.min(means @ means.T)) > np.cos(np.deg2rad(settings.bar_axis_rest_spread_deg)):
        return None
    return np.linalg.eigh(means.T @ means)[1][:, 0]


def bar_tilt_deg(axis_sf: np.ndarray, up_sf: np.ndarray, fs_hz: float, settings: PipelineSettings = PipelineSettings()) -> np.ndarray:
    """The long axis's angle from level, degrees, unsigned (which end is which the sensor cannot
    know), smoothed over `settings.bar_tilt_smooth_s`."""
    tilt = np.degrees(np.abs(np.arcsin(np.clip(up_sf @ axis_sf, -1.0, 1.0))))
    return uniform_filter1d(tilt, max(1, int(round(settings.bar_tilt_smooth_s * fs_hz))), mode="nearest")


def horizontal_drift(track: BarTrack, i0: int, i1: int) -> tuple[float, np.ndarray]:
    """Largest horizontal distance of the bar from where the pull began, during samples
    [i0, i1], and the horizontal path (N, 2) relative to the start.

    Both shapes of a bar leaving the legs show: a bow away and back, and a steady drift forward
    that stays forward (which a distance from the start-to-end chord would miss, however large).
    Horizontal velocity is pinned to zero at both ends (the bar is at rest off the floor and at
    lockout), which removes any constant tilt leak of gravity. What is left of a tilt error
    leans the path by that angle: 1 degree over a 0.6 m pull is 1 cm."""
    a = track.acc_h_wf_mps2[i0:i1 + 1]
    dt = 1.0 / track.fs_hz
    v = _cumtrapz(a, dt)
    frac = np.linspace(0.0, 1.0, len(v))[:, None]
    v = v - frac * v[-1]
    p = _cumtrapz(v, dt)
    z = track.pos_z_wf_m[i0:i1 + 1]
    if z[-1] - z[0] <= 0:
        return float("nan"), p
    return float(np.max(np.linalg.norm(p, axis=1))), p
