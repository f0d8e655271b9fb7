"""Reps, phases and sets from the bar's vertical track.

A stroke is a rise from a lowest point to the next highest point of the drift-corrected bar
height. A stroke is a rep when it covers at least the minimum range of motion and moves fast
enough. Exercises that start with the eccentric (squat, bench press, Romanian deadlift) also need
a descent of comparable depth just before the rise: that rejects unracking, walking out, and the
pick-up from the floor before a set of Romanian deadlifts. Sets are reps separated by short rests.

Concentric phase boundaries are where vertical velocity crosses zero: found where it crosses a
small threshold `eps` and extrapolated to zero through the `2 eps` crossing, so that noise around
rest cannot move them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from barback.analysis.bar import BarTrack, extrema, fft_length
from barback.analysis.config import PipelineSettings

ECCENTRIC_FIRST = ("squat", "bench_press", "romanian_deadlift")


@dataclass(frozen=True)
class RepWindow:
    """Phase boundaries of one rep on the bar's clock (seconds) and sample indices."""

    set_no: int
    rep_no: int
    concentric_start_s: float
    concentric_end_s: float
    peak_velocity_s: float
    eccentric_start_s: float | None
    eccentric_end_s: float | None
    lockout_end_s: float
    setup_start_s: float | None
    i_start: int
    i_end: int
    broken_by_gap: bool = False  # a long data gap inside: counted, but velocity and ROM unknown
    cut_by_start: bool = False  # the recording starts during the rise: counted, velocity unknown
    # how a rep that the height could not show was found: "rhythm" (lost whole in a gap, between
    # reps of the set's rhythm, or beside its received descent), "pattern" (the set's acceleration
    # pattern, see _reps_by_pattern); None for a rep measured on the height
    inferred: str | None = None


def _extrema(pos: np.ndarray, swing_m: float, track: BarTrack | None = None) -> list[tuple[int, int]]:
    """Alternating (index, +1 high / -1 low) extrema, plus the ends of the recording: the
    track's turnarounds when it has them, else those of `pos`."""
    if track is not None and track.strokes_idx is not None and len(track.strokes_idx):
        idx, kind = track.strokes_idx, track.strokes_kind
    else:
        idx, kind = extrema(pos, swing_m)
    seq = list(zip(np.asarray(idx).tolist(), np.asarray(kind).tolist()))
    if seq:
        if seq[0][0] != 0:
            seq.insert(0, (0, -seq[0][1]))
        if seq[-1][0] != len(pos) - 1:
            seq.append((len(pos) - 1, -seq[-1][1]))
    return seq


def _crossing_time(t: np.ndarray, v: np.ndarray, i: int, level: float) -> float:
    """Time where v crosses `level` between samples i and i+1 (linear)."""
    v0, v1 = v[i], v[i + 1]
    if v1 == v0:
        return float(t[i])
    return float(t[i] + (level - v0) / (v1 - v0) * (t[i + 1] - t[i]))


def _level_time(t: np.ndarray, v: np.ndarray, lo: int, hi: int, level: float, forward: bool) -> float | None:
    """Time where v crosses `level` going away from the peak: the last crossing before the peak
    (forward=False, searching [lo, hi]) or the first after it (forward=True)."""
    seg = v[lo:hi + 1]
    idx = np.flatnonzero(seg <= level)
    if forward:
        if not idx.size or idx[0] == 0:
            return None
        return _crossing_time(t, v, lo + idx[0] - 1, level)
    if not idx.size or lo + idx[-1] >= hi:
        return None
    return _crossing_time(t, v, lo + idx[-1], level)


def _extrapolate_to_rest(t1: float, t2: float | None, t4: float | None, dt: float) -> float:
    """Where velocity reaches zero, from its crossings of eps, 2 eps and 4 eps.

    Near the ends of a stroke velocity behaves like a power of the time to rest,
    v ~ c |t - t0|^a. Then successive doublings of the level are a geometric sequence in time with
    ratio r = 2^(1/a), and t0 = t1 + (t1 - t2) / (r - 1) exactly (Aitken's extrapolation).
    The exponent is clamped to 0.8 <= a <= 4 so noise cannot throw the estimate far, and a sharp
    onset whose crossings fall within two samples is extrapolated linearly."""
    if t2 is None:
        return t1
    d12 = t1 - t2
    if t4 is None or d12 == 0:
        return t1 + d12
    if abs(t2 - t4) < 2 * dt:  # a sharp onset, crossings within a couple of samples: linear
        return t1 + d12
    r = (t2 - t4) / d12
    r = min(max(r, 2 ** (1 / 4)), 2 ** (1 / 0.8))
    return t1 + d12 / (r - 1)


def concentric_bounds(t: np.ndarray, v: np.ndarray, i_lo: int, i_pk: int, i_hi: int, eps: float,
                      sway_tail_s: float = PipelineSettings.sway_tail_s) -> tuple[float, float]:
    """Start and end of the upward motion around the velocity peak i_pk, within [i_lo, i_hi].

    The bar is never perfectly still at the floor or at lockout: it sways a few millimetres, so
    velocity near zero is not zero and a crossing of a small threshold can fall seconds late.
    The flanks of the stroke are clear of sway: velocity crosses 20 %, 10 % and 5 % of the peak
    there, and the zero is extrapolated from those crossings (`_extrapolate_to_rest`). `eps` is a
    floor under the lowest level for very slow reps."""
    vpk = float(v[i_pk])
    lv = max(0.05 * vpk, eps)
    dt = float(t[1] - t[0])
    bounds = []
    for forward, lo, hi in ((False, i_lo, i_pk), (True, i_pk, i_hi)):
        t1 = _level_time(t, v, lo, hi, lv, forward)
        if t1 is None:
            bounds.append(float(t[hi] if forward else t[lo]))
            continue
        t2 = _level_time(t, v, lo, hi, 2 * lv, forward)
        t4 = _level_time(t, v, lo, hi, 4 * lv, forward)
        t8 = _level_time(t, v, lo, hi, 8 * lv, forward)
        t0 = _extrapolate_to_rest(t1, t2, t4, dt)
        if t8 is not None and t4 is not None and t2 is not None:
            # sway of a held bar (a few mm below 1.2 Hz, a few cm/s) can hold the tail above the
            # lowest level long after the bar stopped: then the zero extrapolated from the higher
            # levels, clear of sway, comes first by far, and is the one to believe
            t0_hi = _extrapolate_to_rest(t2, t4, t8, dt)
            if (t0 - t0_hi if forward else t0_hi - t0) > sway_tail_s:
                t0 = t0_hi
        t_zero = _level_time(t, v, lo, hi, 0.0, forward)  # never past the actual zero crossing
        if t_zero is not None:
            t0 = min(t0, t_zero) if forward else max(t0, t_zero)
        bounds.append(t0)
    return bounds[0], bounds[1]


def concentric_on(track: BarTrack, w: RepWindow, settings: PipelineSettings = PipelineSettings()) -> RepWindow:
    """The rep's concentric phase found again on `track` (its speed corrected since the reps were
    found): around the speed's peak inside the old phase, within 30 % of its length beyond it. A
    rep counted without a measured rise is returned as it is."""
    if w.inferred or w.broken_by_gap or w.cut_by_start:
        return w
    t, v = track.t_s, track.vel_z_wf_mps
    margin = int(0.3 * (w.i_end - w.i_start)) + 2
    i_lo, i_hi = max(0, w.i_start - margin), min(len(t) - 1, w.i_end + margin)
    i_pk = w.i_start + int(np.argmax(v[w.i_start:w.i_end + 1]))
    if v[i_pk] <= 0:
        return w
    t_s, t_e = concentric_bounds(t, v, i_lo, i_pk, i_hi, settings.rest_speed_mps, settings.sway_tail_s)
    i_start, i_end = int(np.searchsorted(t, t_s)), int(np.searchsorted(t, t_e))
    return replace(w, concentric_start_s=t_s, concentric_end_s=t_e, peak_velocity_s=float(t[i_pk]),
                   i_start=i_start, i_end=min(i_end, len(t) - 1))


def find_reps(track: BarTrack, exercise: str, settings: PipelineSettings = PipelineSettings()) -> list[RepWindow]:
    st = settings
    eps_mps = st.rest_speed_mps
    t, v, z = track.t_s, track.vel_z_wf_mps, track.pos_z_wf_m
    min_rom = settings.min_rom_bench_m if exercise == "bench_press" else settings.min_rom_m
    seq = _extrema(z, st.min_stroke_swing_m, track)
    gap = track.long_gap if track.long_gap is not None else np.zeros(len(z), bool)
    px = track.proxy_pos_m if track.proxy_pos_m is not None else z
    received = track.valid & ~gap  # samples received, outside the gaps too long to integrate through
    # the set's typical stroke, on the proxy: a stroke that a long gap broke is judged by it
    clean = [k for k in range(len(seq) - 1)
             if seq[k][1] == -1 and seq[k + 1][1] == 1 and not gap[seq[k][0]:seq[k + 1][0] + 1].any()
             and min_rom <= z[seq[k + 1][0]] - z[seq[k][0]] <= settings.max_rom_m]
    typical = float(np.median([px[seq[k + 1][0]] - px[seq[k][0]] for k in clean])) if clean else np.inf
    typical_rom = float(np.median([z[seq[k + 1][0]] - z[seq[k][0]] for k in clean])) if clean else np.inf
    reps: list[tuple] = []
    partial: list[tuple[float, float]] = []  # strokes a gap broke, too little of them received
    rise_lo_s = np.array([t[seq[j - 1][0]] for j in range(1, len(seq))  # where each rise of a lift's range starts
                          if seq[j][1] == 1 and seq[j - 1][1] == -1 and z[seq[j][0]] - z[seq[j - 1][0]] >= min_rom])
    for k in range(len(seq) - 1):
        (i_lo, tlo), (i_hi, thi) = seq[k], seq[k + 1]
        if tlo != -1 or thi != 1:
            continue
        broken = bool(gap[i_lo:i_hi + 1].any())
        if broken and (i_lo == 0 or i_hi == len(z) - 1):
            continue  # a recording's end is no turnaround: nothing shows a rise was complete
        rom = z[i_hi] - z[i_lo]
        # the integrated height judges a stroke; where it has drifted (no rest to pin it, data
        # lost nearby) the band-passed shape does: a stroke as large as the set's typical one
        in_rhythm = len(clean) >= 3 and px[i_hi] - px[i_lo] >= st.rhythm_fraction * typical
        plausible = min_rom <= rom <= settings.max_rom_m
        if broken:  # the part after the gap alone may show a full rise
            in_rhythm |= plausible and rom >= st.rhythm_fraction * typical_rom
            # or the bar, seen low before the gap, is seen high after it and lowered in full
            in_rhythm |= bool(gap[i_lo]) and _rose_across_gap(seq, k, px, gap, st.rhythm_fraction * typical)
        # drift only ever lengthens a stroke past the longest lift; a short one is a short one
        if not (in_rhythm if broken else plausible or (in_rhythm and rom > settings.max_rom_m)):
            if broken:  # too little of it was received to judge; the set's rhythm may still tell
                partial.append((float(t[i_lo]), float(t[i_hi])))
            continue
        i_pk = i_lo + int(np.argmax(np.where(gap[i_lo:i_hi + 1], -np.inf, v[i_lo:i_hi + 1])))
        if v[i_pk] < settings.min_peak_velocity_mps and not broken and not in_rhythm:
            continue
        # after a set's last rise only rest follows, over which the anchoring spreads a set-down's
        # velocity step as a slow rise; such a rise the acceleration never stopped
        nxt = int(np.searchsorted(rise_lo_s, t[i_hi]))
        last = nxt == len(rise_lo_s) or rise_lo_s[nxt] - t[i_hi] > settings.set_gap_s
        if last and track.valid[i_pk:i_hi + 1].all() and _stop_explained(
                track.acc_z_wf_mps2, v, i_pk, i_hi, track.fs_hz, track.period_s, received) < st.min_stop_explained:
            continue
        # the data end while the bar still rises (at the top or just past it, where only the
        # recording's end follows): nothing shows a completed rep (with no turnaround after it
        # to pin it, a drifting track rises like this too)
        if k + 2 >= len(seq) - 1 and v[i_hi:].max() > st.open_end_max_speed_fraction * v[i_pk]:
            continue
        t_s, t_e = concentric_bounds(t, v, i_lo, i_pk, i_hi, eps_mps, st.sway_tail_s)
        if t_e - t_s < st.min_concentric_s:
            continue
        ecc = None
        if k > 0 and seq[k - 1][1] == 1:
            i_top = seq[k - 1][0]
            depth = z[i_top] - z[i_lo]
            # eccentric: from when the bar starts down after the top until it stops at the bottom
            down = np.flatnonzero(v[i_top:i_lo + 1] < -eps_mps)
            if down.size:
                ecc = (float(t[i_top + down[0]]), float(t[min(i_top + down[-1] + 1, len(t) - 1)]), depth)
        # a recording that starts with the bar at the bottom (on the chest, in the hole) shows a
        # first rep without its descent; only a Romanian deadlift's first rise (the pick-up from
        # the floor) is never a rep
        opens_recording = k <= 1 and exercise in ("squat", "bench_press")
        if opens_recording and np.isfinite(typical_rom) and rom < st.opening_min_rom_fraction * typical_rom:
            continue  # no descent seen before it, and short of the set's reps: the walk-out or a re-grip
        # a gap in the rise does not excuse a missing descent where the descent was received
        descent_lost = broken and (k == 0 or gap[seq[k - 1][0]:i_lo + 1].any())
        if exercise in ECCENTRIC_FIRST and not descent_lost and not opens_recording:
            depth_min = st.eccentric_first_depth
            deep = ecc is not None and ((plausible and ecc[2] >= depth_min * rom) or
                                        px[seq[k - 1][0]] - px[i_lo] >= depth_min * (px[i_hi] - px[i_lo]))
            if not deep or ecc is None or t_s - ecc[1] > settings.eccentric_first_window_s:
                continue
        reps.append((i_lo, i_pk, i_hi, t_s, t_e, ecc, k, broken))
    # a lifter does not mix full reps with a fraction of one: a measured stroke far shorter than
    # the others is a shuffle of the bar (re-gripping, racking), not a rep. Unless the band-passed
    # height shows it as large as the set's typical stroke: then the integrated height, not the
    # bar, fell short (drift between turnarounds that no rest pins)
    roms = [z[r[2]] - z[r[0]] for r in reps if not r[7]]
    if len(roms) >= 2:
        floor = st.partial_rom_fraction * float(np.median(roms))
        full_swing = st.rhythm_fraction * typical if len(clean) >= 3 else np.inf
        reps = [r for r in reps if r[7] or z[r[2]] - z[r[0]] >= floor or px[r[2]] - px[r[0]] >= full_swing]
    # a stroke broken by a gap is a rep only in the rhythm of the set: a measured rep within
    # one and a half rep periods before or after it (or before or after a broken one so accepted)
    reach = st.rhythm_reach_periods * track.period_s
    accepted = [not r[7] for r in reps]
    grew = True
    while grew:
        grew = False
        starts = np.array([r[3] for r, ok in zip(reps, accepted) if ok])
        for j, r in enumerate(reps):
            if not accepted[j] and len(starts) and np.min(np.abs(starts - r[3])) <= reach:
                accepted[j] = grew = True
    reps = [r for r, ok in zip(reps, accepted) if ok]
    durs = [r[4] - r[3] for r in reps if not r[7]]
    dur = float(np.median(durs)) if durs else None  # the set's typical concentric phase
    reps = _place_broken(reps, t, gap, dur if dur is not None else 1.0)
    reps = sorted(reps + _reps_beside_their_counter_strokes(reps, seq, t, v, z, px, gap, dur, track.period_s,
                                                            exercise in ECCENTRIC_FIRST, st, min_rom), key=lambda r: r[3])
    reps = sorted(reps + _reps_by_pattern(reps, t, track.acc_z_wf_mps2, received, track.fs_hz,
                                          exercise in ECCENTRIC_FIRST, st), key=lambda r: r[3])
    if dur is not None:
        reps = sorted(reps + _reps_lost_in_gaps(reps, t, gap, track.period_s, dur, partial,
                                                partly_lost=st.partly_lost_fraction), key=lambda r: r[3])
    out: list[RepWindow] = []
    set_no, rep_no, prev_end = 0, 0, -np.inf
    for i_lo, i_pk, i_hi, t_s, t_e, ecc, k, broken in reps:
        if t_s - prev_end > settings.set_gap_s:
            set_no += 1
            rep_no = 0
        rep_no += 1
        if k is None or k < 0:  # a rep inferred, not measured: only its place in time is known
            out.append(RepWindow(set_no, rep_no, t_s, t_e, 0.5 * (t_s + t_e), None, None, t_e, None,
                                 i_lo, i_hi, True, inferred="rhythm" if k is None else "pattern"))
            prev_end = t_e
            continue
        # lockout: from the top until the bar heads down again
        j = i_hi
        stop = seq[k + 2][0] if k + 2 < len(seq) else len(v) - 1
        down = np.flatnonzero(v[i_hi:stop + 1] < -eps_mps)
        lock_end = float(t[i_hi + down[0]]) if down.size else float(t[min(stop, len(t) - 1)])
        if exercise in ECCENTRIC_FIRST:
            e0, e1 = (ecc[0], ecc[1]) if ecc else (None, None)
            setup = None
        else:
            # the lowering after lockout belongs to this rep
            e0 = lock_end if down.size else None
            e1 = None
            if down.size and k + 2 < len(seq):
                i_bot = seq[k + 2][0]
                dn = np.flatnonzero(v[j:i_bot + 1] < -eps_mps)
                e1 = float(t[min(j + dn[-1] + 1, len(t) - 1)]) if dn.size else None
            # setup: from when the bar came to rest on the floor (end of the previous lowering)
            setup = ecc[1] if ecc and ecc[1] < t_s else None
        # a rise from the recording's first sample: before the first turnaround nothing pins the
        # velocity, so a start found there is the recording's, not the rep's; one far longer than
        # the set's concentric phases is placed by them, and its velocity is not measured
        cut = i_lo == 0 and not broken and dur is not None and t_e - t_s > st.opening_max_duration * dur
        if cut:
            t_s = max(float(t[0]), t_e - dur)
        out.append(RepWindow(set_no, rep_no, t_s, t_e, float(t[i_pk]), e0, e1, lock_end, setup,
                             int(np.searchsorted(t, t_s)), int(min(np.searchsorted(t, t_e), len(t) - 1)), broken,
                             cut))
        prev_end = t_e
    return out


def _stop_explained(acc_z: np.ndarray, v: np.ndarray, i_pk: int, i_hi: int, fs_hz: float, period_s: float,
                    ok: np.ndarray) -> float:
    """The share of a rise's speed, from its peak (i_pk) to its top (i_hi), that the measured
    vertical acceleration takes away: about 1 for a bar that decelerates to its lockout, near 0 for
    a velocity step (a set-down's impact sampled too sparsely to integrate) that the anchoring of
    the track brings back to zero over the rest after it. The acceleration is taken from its
    median over a rep period either side (samples received, `ok`): where gravity was misjudged by
    a steady offset, the anchoring removed that too."""
    drop = float(v[i_pk] - v[i_hi])
    if drop <= 0.0 or i_hi <= i_pk:
        return 1.0
    w = int(period_s * fs_hz)
    near = acc_z[max(0, i_pk - w):i_hi + w][ok[max(0, i_pk - w):i_hi + w]]
    level = float(np.median(near)) if near.size else 0.0
    seg = acc_z[i_pk:i_hi + 1] - level
    return -float(np.sum(0.5 * (seg[1:] + seg[:-1]))) / fs_hz / drop


def _rose_across_gap(seq: list[tuple[int, int]], k: int, px: np.ndarray, gap: np.ndarray, min_swing: float) -> bool:
    """Stroke k starts inside a long gap (its lowest point there is an artefact of the lost data).
    The bar rose across the gap when the last turnaround received before the gap is a lowest
    point and the stroke's highest point, received after the gap, stands at least `min_swing`
    above it on the band-passed height, and is followed by a received descent as deep: a rep
    whose pull the gap swallowed, its lockout and lowering seen."""
    j = k
    while j >= 0 and gap[seq[j][0]]:
        j -= 1  # turnarounds inside the gap are no evidence
    if j < 0 or seq[j][1] != -1 or k + 2 >= len(seq):
        return False
    i_top, i_next = seq[k + 1][0], seq[k + 2][0]
    if gap[i_top:i_next + 1].any():
        return False
    return bool(px[i_top] - px[seq[j][0]] >= min_swing and px[i_top] - px[i_next] >= min_swing)


def _reps_beside_their_counter_strokes(reps: list[tuple], seq: list[tuple[int, int]], t: np.ndarray, v: np.ndarray,
                                       z: np.ndarray, px: np.ndarray, gap: np.ndarray, dur: float | None,
                                       period_s: float, eccentric_first: bool, st: PipelineSettings,
                                       min_rom: float) -> list[tuple]:
    """Reps whose rise a gap hid, known by the full descent received beside it.

    A squat, a bench press or a Romanian deadlift lowers the bar before every rise; a deadlift
    lowers it after every rise. A descent received in full (no long gap in it, as deep as the
    set's typical stroke on the band-passed height, at a lifter's lowering speed) with the data
    lost where its rise belongs (after it, or before it for a deadlift) and no rep found there,
    is a rep whose rise was not seen. Only its place in time is known: its concentric phase is
    put at the set's typical duration from the descent's end (or before the descent's start)."""
    downs = [(seq[k][0], seq[k + 1][0]) for k in range(len(seq) - 1)
             if seq[k][1] == 1 and seq[k + 1][1] == -1 and not gap[seq[k][0]:seq[k + 1][0] + 1].any()]
    full = [(a, b) for a, b in downs if min_rom <= z[a] - z[b] <= st.max_rom_m]
    if len(full) < 3:
        return []
    typical = float(np.median([px[a] - px[b] for a, b in full]))  # the set's typical descent
    dur = dur if dur is not None else st.inferred_concentric_share * period_s
    # where the set's measured reps start after their lowest point (or end before their highest,
    # the lockout held before the lowering)
    measured = [r for r in reps if not r[7]]
    lags = [r[3] - t[r[0]] if eccentric_first else t[r[2]] - r[4] for r in measured]
    lag_s = max(0.0, float(np.median(lags))) if lags else 0.0
    out: list[tuple] = []
    spans = [(r[3], r[4]) for r in reps]
    for i_hi, i_lo in downs:
        if px[i_hi] - px[i_lo] < st.rhythm_fraction * typical or v[i_hi:i_lo + 1].min() > -st.min_peak_velocity_mps:
            continue
        if eccentric_first:
            t_s = float(t[i_lo]) + lag_s
            t_e = t_s + dur
        else:
            t_e = float(t[i_hi]) - lag_s
            t_s = t_e - dur
        a, b = int(np.searchsorted(t, t_s - 0.5 * dur)), int(np.searchsorted(t, t_e + 0.5 * dur))
        if b <= a or b >= len(t) or a <= 0 or float(np.mean(gap[a:b])) < st.counter_stroke_min_lost:
            continue  # the rise was received (and showed no rep), or lies beyond the data
        clear = st.counter_stroke_clear_periods * period_s
        # a rep is already there; the rep on the descent's far side (the next rise from its
        # bottom, the rise before its top) is another lift, however close it follows
        if any(s < t_e + clear and e > t_s - clear and (s < t[i_lo] if not eccentric_first else e > t[i_hi])
               for s, e in spans):
            continue
        spans.append((t_s, t_e))
        out.append((a, a, min(b, len(t) - 1), t_s, t_e, None, None, True))
    return out


def _place_broken(reps: list[tuple], t: np.ndarray, gap: np.ndarray, dur: float) -> list[tuple]:
    """A stroke broken by a gap runs from its lowest to its highest point, one of them inside the
    gap; its concentric phase is placed by the end that was received and the set's typical
    concentric duration `dur`."""
    out = []
    for r in reps:
        i_lo, i_pk, i_hi, t_s, t_e, ecc, k, broken = r
        if broken:
            rise_lost, top_lost = gap[i_lo:i_pk + 1].any(), gap[i_pk:i_hi + 1].any()
            if rise_lost and not top_lost:
                t_s = t_e - dur
            elif top_lost and not rise_lost:
                t_e = t_s + dur
            elif rise_lost and top_lost:
                mid = 0.5 * (float(t[i_lo]) + float(t[i_hi]))
                t_s, t_e = mid - 0.5 * dur, mid + 0.5 * dur
        out.append((i_lo, i_pk, i_hi, t_s, t_e, ecc, k, broken))
    return out


def _reps_lost_in_gaps(reps: list[tuple], t: np.ndarray, gap: np.ndarray, period_s: float, dur: float,
                       partial: tuple[tuple[float, float], ...] | list[tuple[float, float]] = (), max_misfit: float = 0.35,
                       min_covered: float = 0.6, max_lost: int = 2,
                       partly_lost: float = PipelineSettings.partly_lost_fraction) -> list[tuple]:
    """Reps that a long data gap swallowed whole, inferred from the set's rhythm.

    Between two found reps that lie k rep periods apart (2 <= k <= max_lost + 1, within
    `max_misfit` of a period), k - 1 reps are missing where the rhythm puts them. Each is counted
    only where the data were lost, or partly lost with what was received showing part of a
    stroke (`partial`, the strokes a gap broke that were too incomplete to judge alone):
    a gap, with data received on both sides of it, covers most of where its concentric phase
    belongs. Where the data were received and show no rep, there was none: the lifter paused or
    had stopped. Before the first rep and after the last one the rhythm says nothing: the set may
    not have begun or may be over. `dur` is the set's typical concentric phase. Velocity and range
    of motion of such a rep are unknown."""
    if len(reps) < 3:
        return []
    tops = np.array([r[4] for r in reps])  # a gap moves a broken rep's start more than its top
    steps = np.diff(tops)
    regular = steps[(steps > 0.6 * period_s) & (steps < 1.4 * period_s)]
    if len(regular) < 2:
        return []
    valid_idx = np.flatnonzero(~gap)
    first_ok, last_ok = (valid_idx[0], valid_idx[-1]) if len(valid_idx) else (len(t), -1)

    def lost(top_s: float) -> bool:
        i0, i1 = int(np.searchsorted(t, top_s - dur)), int(np.searchsorted(t, top_s))
        if not (0 <= i0 < i1 < len(t) and first_ok < i0 and i1 < last_ok):
            return False
        covered = float(np.mean(gap[i0:i1 + 1]))
        seen = any(min(b, top_s) - max(a, top_s - dur) > 0.3 * dur for a, b in partial)
        if not seen:
            return covered >= min_covered
        # part of a stroke was received: the gap may have cut it from the descent before it
        j0 = max(0, int(np.searchsorted(t, top_s - 1.5 * dur)))
        return float(np.mean(gap[j0:i1 + 1])) >= partly_lost

    def local_period(a: int) -> float:  # the regular steps nearest rep a
        near = steps[max(0, a - 3):a + 4]
        near = near[(near > 0.6 * period_s) & (near < 1.4 * period_s)]
        return float(np.median(near)) if len(near) else float(np.median(regular))

    found: list[float] = []
    for a in range(len(reps) - 1):
        p = local_period(a)
        k = int(round(steps[a] / p))
        if 2 <= k <= max_lost + 1 and abs(steps[a] / p - k) <= max_misfit:
            slots = [tops[a] + j * steps[a] / k for j in range(1, k)]
            if all(lost(x) for x in slots):
                found += slots
    out = []
    for top in found:
        i0, i1 = int(np.searchsorted(t, top - dur)), min(int(np.searchsorted(t, top)), len(t) - 1)
        out.append((i0, i0, i1, float(top - dur), float(top), None, None, True))
    return out


def _block_means(x: np.ndarray, ok: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of x over blocks of q samples, over the samples received (`ok`); a block counts as
    received when at least half of it was."""
    m = len(x) // q
    sums = np.where(ok, x, 0.0)[:m * q].reshape(m, q).sum(axis=1)
    count = ok[:m * q].reshape(m, q).sum(axis=1)
    return sums / np.maximum(count, 1), count >= 0.5 * q


def masked_ncc(x: np.ndarray, ok: np.ndarray, tpl: np.ndarray, tpl_ok: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The template `tpl` laid on `x` at every shift s (x[s:s+L] against tpl), over only the
    samples both have (masks `ok`, `tpl_ok`): their correlation coefficient, the least-squares
    gain that scales the template onto x, and the share of the template's samples received there.
    Six sums per shift, each a cross-correlation done by FFT."""
    L = len(tpl)
    n = len(x) - L + 1
    if n <= 0 or L == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    m = fft_length(len(x) + L)
    w = ok.astype(float)
    xm = np.where(ok, x, 0.0)
    tw = tpl_ok.astype(float)
    tm = np.where(tpl_ok, tpl, 0.0)
    spectra = {k: np.fft.rfft(a, m) for k, a in (("w", w), ("x", xm), ("xx", xm * xm))}

    def corr(sig: str, kernel: np.ndarray) -> np.ndarray:  # sum_j sig[s + j] kernel[j]
        return np.fft.irfft(spectra[sig] * np.conj(np.fft.rfft(kernel, m)), m)[:n]

    sw, sx, sxx = corr("w", tw), corr("x", tw), corr("xx", tw)
    st, stt, sxt = corr("w", tm), corr("w", tm * tm), corr("x", tm)
    sw_safe = np.maximum(sw, 1e-9)
    cxt = sxt - sx * st / sw_safe
    cxx = np.maximum(sxx - sx * sx / sw_safe, 0.0)
    ctt = np.maximum(stt - st * st / sw_safe, 0.0)
    ncc = cxt / np.sqrt(np.maximum(cxx * ctt, 1e-18))
    gain = cxt / np.maximum(ctt, 1e-18)
    return ncc, gain, sw / max(float(tw.sum()), 1.0)


def _reps_by_pattern(reps: list[tuple], t: np.ndarray, acc: np.ndarray, ok: np.ndarray, fs_hz: float,
                     eccentric_first: bool, st: PipelineSettings) -> list[tuple]:
    """Reps that the bar's height could not show, found by the set's own acceleration pattern.

    Data lost in bursts leave a rep's rise in fragments that no integration carries across, but
    every rep of a session's lift pushes and brakes the bar alike (its size, which changes with the
    load, is left free within `pattern_gain`). The vertical acceleration around the reps found
    (their concentric phases, a concentric phase's length either side) is averaged into the
    pattern, over what was received. Laid on the acceleration at every shift, over what was
    received there, it correlates as well as the reps themselves where a rep was (`pattern_min_ncc`,
    at a lifter's strength: `pattern_gain`), with enough received to judge (`pattern_min_received`).
    Such a place is a rep when it keeps the set's rhythm: within `pattern_reach_periods` of a rep
    (`pattern_far_reach_periods` for a close match, the rep between lost whole and counted by the
    rhythm), not closer than `pattern_min_separation_periods`. Beyond a set's first or last rep a
    place received almost whole (over `pattern_edge_max_received`) is not trusted (its strokes were
    judged already), and
    before a squat's, bench press's or Romanian deadlift's first rep none is: the walk-out and the
    pick-up from the floor move like a rise. Only the rep's place in time is known."""
    stroked = [r for r in reps if r[6] is not None and r[6] >= 0]
    measured = [r for r in stroked if not r[7]]
    if len(measured) < 3:
        measured = stroked  # fewer than three rises measured: the strokes a gap broke give the pattern
    if len(measured) < 3:
        return []
    q = max(1, int(round(fs_hz / st.pattern_rate_hz)))
    xd, okd = _block_means(acc, ok, q)
    fd = fs_hz / q
    td = t[0] + (np.arange(len(xd)) * q + 0.5 * (q - 1)) / fs_hz
    mids = np.sort([0.5 * (r[3] + r[4]) for r in measured])
    dur = float(np.median([r[4] - r[3] for r in measured]))
    steps = np.diff(mids)
    steps = steps[steps < 2.5 * np.median(steps)] if len(steps) else steps  # not across sets
    period = float(np.median(steps)) if len(steps) else st.set_gap_s
    half = int(round(min(0.5 * period, dur) * fd))
    centres = np.round((mids - td[0]) * fd).astype(int)
    centres = centres[(centres - half >= 0) & (centres + half + 1 <= len(xd))]
    if len(centres) < 3 or half < 1:
        return []
    idx = centres[:, None] + np.arange(-half, half + 1)[None, :]
    segs, masks = xd[idx], okd[idx]
    count = masks.sum(axis=0)
    tpl = np.where(count > 0, (segs * masks).sum(axis=0) / np.maximum(count, 1), 0.0)
    tpl_ok = count >= max(1.0, 0.3 * len(centres))
    ncc, gain, rec = masked_ncc(xd, okd, tpl, tpl_ok)
    if len(ncc) < 3:
        return []
    g_lo, g_hi = st.pattern_gain
    good = ((ncc >= st.pattern_min_ncc) & (rec >= st.pattern_min_received)
            | (ncc >= st.pattern_sparse_min_ncc) & (rec >= st.pattern_sparse_min_received)) & (gain >= g_lo) & (gain <= g_hi)
    good[1:-1] &= (ncc[1:-1] >= ncc[:-2]) & (ncc[1:-1] >= ncc[2:])  # local maxima
    cand = np.flatnonzero(good)
    cand = cand[np.argsort(-ncc[cand], kind="stable")]
    cand_mid = td[cand] + half / fd
    taken = np.sort([0.5 * (r[3] + r[4]) for r in reps])
    used = np.zeros(len(cand), bool)
    out: list[tuple] = []
    grew = True
    while grew:  # the best place in reach first; each rep found brings the next in reach
        grew = False
        for j, (s, m_s) in enumerate(zip(cand, cand_mid)):
            if used[j]:
                continue
            k = int(np.searchsorted(taken, m_s))
            gap_before = m_s - taken[k - 1] if k else np.inf
            gap_after = taken[k] - m_s if k < len(taken) else np.inf
            inside = gap_before <= st.set_gap_s and gap_after <= st.set_gap_s
            if not inside and (rec[s] > st.pattern_edge_max_received or rec[s] < st.pattern_min_received
                               or (eccentric_first and gap_before > st.set_gap_s)):
                continue
            near = min(gap_before, gap_after)
            reach = st.pattern_far_reach_periods if ncc[s] >= st.pattern_far_min_ncc else st.pattern_reach_periods
            if near < st.pattern_min_separation_periods * period or near > reach * period:
                continue
            used[j] = grew = True
            taken = np.insert(taken, k, m_s)
            t_s, t_e = float(m_s) - 0.5 * dur, float(m_s) + 0.5 * dur
            a, b = int(np.searchsorted(t, t_s)), min(int(np.searchsorted(t, t_e)), len(t) - 1)
            out.append((a, a, b, t_s, t_e, None, -1, True))  # stroke -1: no stroke, found by the pattern
            break
    return out
