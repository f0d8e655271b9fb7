"""The analysis pipeline: a Session in, a SessionResult out. No file access, no plotting."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from barback.analysis.bar import BarTrack, horizontal_drift, standing_closure, track_bar
from barback.analysis.config import ExerciseProfile, PipelineSettings, QualityLimits, Thresholds, load_thresholds
from barback.analysis.errors import InputError
from barback.analysis.flags import SetTracker
from barback.analysis.imu import Role, Session, load_of_set
from barback.analysis.lumbar import LumbarAngles, lumbar_angles, lumbar_references, mean_quat, same_references, spine_angles_deg
from barback.analysis.orientation import Attitude, prepare_stream
from barback.analysis.results import RepResult, SensorSummary, SessionResult, SetResult
from barback.analysis.segmentation import RepWindow, concentric_on, find_reps
from barback.analysis.timebase import TimestampError, UniformStream
from barback.analysis.warmup import warm_up_check


@dataclass
class Series:
    """Time series kept for reports (on the bar grid where there is a bar)."""

    bar: BarTrack | None
    t_s: np.ndarray | None  # lumbar grid (upper or only sensor)
    trunk_inclination_deg: np.ndarray | None
    lumbar_flexion_deg: np.ndarray | None
    bar_paths: dict[tuple[int, int], np.ndarray]


def _prepare(session: Session, role: Role, settings: PipelineSettings) -> tuple[UniformStream, Attitude, float]:
    try:
        return prepare_stream(session.streams[role], role, settings)
    except TimestampError as exc:
        raise InputError(session.source or "session", f"{role.value}: {exc}") from None


def analyze(session: Session, settings: PipelineSettings = PipelineSettings(),
            thresholds: Thresholds | None = None, loads_kg: dict[int, float] | None = None,
            standing_axes: dict[Role, np.ndarray] | None = None,
            max_flexion_deg: float | None = None, bar_axis_sf: np.ndarray | None = None,
            e1rm_kg: float | None = None, heavy_velocity_mps: float | None = None) -> SessionResult:
    """Analyse a session. `standing_axes` (lumbar role -> long axis in the sensor frame at quiet
    standing) fixes the zero of the lumbar angles when the session is a window of a longer one;
    `bar_axis_sf`, the bar's long axis in its sensor's frame, likewise its tilt. `e1rm_kg` and
    `heavy_velocity_mps` (the athlete's, from the history) tell the warm-up check which set is heavy."""
    th = thresholds or load_thresholds()
    t_start = time.perf_counter()
    warnings = list(session.warnings)
    # The bar's path (attitude, track, reps) and the lumbar sensors' attitudes are independent
    # until the lumbar metrics: on a long session the bar's path runs on one thread and the lumbar
    # sensors one after the other on a second (numpy and the compiled kernels release the GIL).
    roles = list(session.streams)
    lumbar_roles = [r for r in roles if r is not Role.BAR]

    def bar_path() -> tuple[tuple[UniformStream, Attitude, float], BarTrack, list[RepWindow]]:
        u, att, rate_hz = _prepare(session, Role.BAR, settings)
        track = track_bar(u, att, settings, axis_sf=bar_axis_sf, floor_rests=session.exercise in settings.floor_exercises)
        windows = find_reps(track, session.exercise, settings)
        if session.exercise in settings.closure_exercises:  # reps found first: the counts stay
            track = standing_closure(track, settings)
            windows = [concentric_on(track, w, settings) for w in windows]
        return (u, att, rate_hz), track, windows

    def lumbar_inputs(prepared: dict[Role, tuple[UniformStream, Attitude, float]]) -> dict:
        return {role: (u.t_s, att, u.fs_hz) for role, (u, att, _) in prepared.items()
                if role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER)}

    def lumbar_path() -> tuple[dict, tuple[dict, LumbarAngles] | None]:
        # the lumbar sensors finish before the bar's path: their angles are worked out meanwhile
        # with the zeros found without the reps' lockouts, and kept if the lockouts change none
        prepared: dict[Role, tuple[UniformStream, Attitude, float]] = {r: _prepare(session, r, settings)
                                                                       for r in lumbar_roles}
        inputs = lumbar_inputs(prepared)
        refs = lumbar_references(inputs, standing_axes, None, settings)
        return prepared, (refs, lumbar_angles(inputs, settings=settings, references=refs))

    track: BarTrack | None = None
    windows: list[RepWindow] = []
    bar_prepared: tuple[UniformStream, Attitude, float] | None = None
    prepared: dict[Role, tuple[UniformStream, Attitude, float]]
    ahead: tuple[dict, LumbarAngles] | None = None
    if (Role.BAR in roles and lumbar_roles and sum(len(s) for s in session.streams.values()) > settings.thread_min_samples
            and (os.cpu_count() or 1) > 1):
        with ThreadPoolExecutor(max_workers=2) as pool:  # two cores are common; three threads contend
            bar_job = pool.submit(bar_path)
            lumbar_job = pool.submit(lumbar_path)
            bar_prepared, track, windows = bar_job.result()
            prepared, ahead = lumbar_job.result()
    else:  # short windows (live analysis): threads would cost more than they save
        if Role.BAR in roles:
            bar_prepared, track, windows = bar_path()
        prepared = {r: _prepare(session, r, settings) for r in lumbar_roles}
    if bar_prepared is not None:
        prepared = {Role.BAR: bar_prepared, **prepared}
    prepared = {r: prepared[r] for r in roles}  # in the session's order
    sensors = []
    for role, (u, att, rate_hz) in prepared.items():
        sensors.append(SensorSummary(role.value, len(session.streams[role]), round(rate_hz, 3),
                                     float(len(u) / u.fs_hz), u.regularized, list(u.gaps_s),
                                     att.n_still_periods))
        if u.regularized:
            warnings.append(f"{role.value}: timestamps were irregular (BLE batching?); "
                            f"re-timed from the sample count at {rate_hz:.1f} Hz")
        if u.gaps_s:
            total = sum(b - a for a, b in u.gaps_s)
            warnings.append(f"{role.value}: {len(u.gaps_s)} gap(s) in the data, {total:.2f} s in total")
        if att.n_still_periods == 0:
            warnings.append(f"{role.value}: never still; gyro bias and gravity could not be calibrated")
    t_prep = time.perf_counter()

    # --- bar: reps (found above) -----------------------------------------------------------------
    if Role.BAR in prepared and prepared[Role.BAR][0].fs_hz < th.quality.min_rate_for_velocity_hz:
        warnings.append(f"bar: {prepared[Role.BAR][0].fs_hz:.0f} Hz is below "
                        f"{th.quality.min_rate_for_velocity_hz:.0f} Hz; reps are counted but velocities are less exact")
    # a lifter stands upright at every lockout: where the lumbar sensors never rest upright, the
    # lockouts give their zero
    lockouts = [(w.concentric_end_s, w.concentric_end_s + settings.lockout_sample_s) for w in windows
                if not w.broken_by_gap]

    # --- lumbar -------------------------------------------------------------------------------
    inputs = lumbar_inputs(prepared)
    refs = lumbar_references(inputs, standing_axes, lockouts, settings)
    if ahead is not None and same_references(ahead[0], refs):
        angles = ahead[1]
    else:
        angles = lumbar_angles(inputs, settings=settings, references=refs)
    warnings.extend(angles.warnings)
    t_lum, incl, flex = angles.t_s, angles.inclination_deg, angles.flexion_deg
    has_flexion = flex is not None

    # --- bar metrics ----------------------------------------------------------------------------
    reps: list[RepResult] = []
    paths: dict[tuple[int, int], np.ndarray] = {}
    if track is not None:
        horizontal: dict[tuple[int, int], np.ndarray] = {}
        for w in windows:
            rep, horizontal[(w.set_no, w.rep_no)] = _bar_metrics(track, w, th.exercise[session.exercise], th.quality)
            if t_lum is not None:
                lost = _lumbar_lost(w, prepared, settings)
                if lost:
                    rep.quality.append(lost)  # a pull the lumbar sensors did not see: no angles guessed
                else:
                    _lumbar_metrics(rep, w, track, t_lum, incl, flex, th)
                    if angles.anatomical_quat is not None:
                        _side_metrics(rep, w, t_lum, angles.anatomical_quat)
                if max_flexion_deg and rep.peak_lumbar_flexion_deg is not None:
                    rep.peak_lumbar_flexion_pct_max = 100.0 * rep.peak_lumbar_flexion_deg / max_flexion_deg
            reps.append(rep)
        paths = _drift_against_set_lean(reps, windows, horizontal, track)
        if track.tilt_deg is None and windows:
            warnings.append("bar: its long axis was not found (no rests at rolls 8° or more apart, level on the "
                            "floor or in the rack): bar tilt is not measured")
        _withhold_inconsistent(reps)
        if settings.rom_with_lowering:
            _rom_with_its_lowering(reps, windows, track, settings)
        if not windows:
            warnings.append("no reps found in this session")
    else:
        warnings.append("no bar sensor: reps and bar velocity need a sensor on the bar")
    t_bar = time.perf_counter()

    sets = _sets_and_flags(reps, session.exercise, th, loads_kg or {})
    warm_up = warm_up_check(sets, reps, th.warm_up, e1rm_kg, heavy_velocity_mps)
    series = Series(track, t_lum, incl, flex, paths)
    return SessionResult(
        exercise=session.exercise, source=session.source, reps=reps, sets=sets, warnings=warnings,
        sensors=sensors, thresholds_version=th.version, has_lumbar_flexion=has_flexion,
        has_trunk_inclination=t_lum is not None,
        timing={"prepare_s": t_prep - t_start, "metrics_s": t_bar - t_prep}, series=series,
        athlete=_text(session.meta.get("athlete")), date=_text(session.meta.get("date")), warm_up=warm_up)


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _bar_metrics(track: BarTrack, w: RepWindow, lift: ExerciseProfile, q: QualityLimits) -> tuple[RepResult, np.ndarray]:
    """The rep's bar metrics, and its horizontal path (N, 2) from the start of the pull."""
    t, v, z = track.t_s, track.vel_z_wf_mps, track.pos_z_wf_m
    z0, z1 = np.interp([w.concentric_start_s, w.concentric_end_s], t, z)
    dur = w.concentric_end_s - w.concentric_start_s
    rom = float(z1 - z0)
    i0, i1 = w.i_start, w.i_end
    drift, horizontal = horizontal_drift(track, max(i0 - 1, 0), i1)
    quality: list[str] = []
    grade = "good"
    unc = q.mv_uncertainty_mps
    lost_s = float(np.count_nonzero(~track.valid[max(i0 - 1, 0):i1 + 1])) / track.fs_hz
    if track.fs_hz < q.fair_rate_hz:
        grade, unc = "fair", unc * q.fair_rate_hz / track.fs_hz
        quality.append(f"{track.fs_hz:.0f} distinct samples per second: velocity is less exact")
    if w.inferred == "pattern":
        grade = "poor"
        quality.append("found by the set's acceleration pattern, its rise not measurable on the bar's height: the rep is counted, its "
                       "velocity and range of motion are unknown")
    elif w.broken_by_gap:
        grade = "poor"
        quality.append("a long data gap inside the concentric phase: the rep is counted, its velocity and "
                       "range of motion are unknown")
    elif w.cut_by_start:
        grade = "poor"
        quality.append("the recording starts during this rep's rise: the rep is counted, its start is placed "
                       "from the set's typical concentric phase and its velocity is unknown")
    elif lost_s > 0:
        grade = "fair"
        unc = float(np.hypot(unc, q.gap_mv_uncertainty_mps_per_s * lost_s))
        quality.append(f"{lost_s:.2f} s of data lost inside the concentric phase (bridged): velocity "
                       f"± {unc:.2f} m/s")
    mv = rom / dur if dur > 0 else float("nan")
    if grade != "poor" and not (q.plausible_mv_min_mps <= mv <= q.plausible_mv_max_mps
                                and lift.rom_min_m <= rom <= lift.rom_max_m):
        grade = "poor"
        quality.append(f"implausible measurement ({mv:.2f} m/s over {rom:.2f} m) withheld: the rep is counted")
    if grade == "poor":
        mv = rom = drift = float("nan")
    tilt = None
    if track.tilt_deg is not None and grade != "poor":
        tilt = float(track.tilt_deg[i0:i1 + 1].max())
    rep = RepResult(
        set=w.set_no, rep=w.rep_no, concentric_start_s=w.concentric_start_s,
        concentric_end_s=w.concentric_end_s, peak_velocity_time_s=w.peak_velocity_s,
        eccentric_start_s=w.eccentric_start_s, eccentric_end_s=w.eccentric_end_s,
        lockout_end_s=w.lockout_end_s, setup_start_s=w.setup_start_s, mean_velocity_mps=mv,
        peak_velocity_mps=float(v[i0:i1 + 1].max()) if grade != "poor" else float("nan"), rom_m=rom,
        time_to_peak_velocity_s=w.peak_velocity_s - w.concentric_start_s, bar_drift_m=drift,
        quality=quality, quality_grade=grade, mean_velocity_uncertainty_mps=None if grade == "poor" else unc,
        bar_tilt_deg=tilt)
    return rep, horizontal


def _rom_with_its_lowering(reps: list[RepResult], windows: list[RepWindow], track: BarTrack,
                           settings: PipelineSettings) -> None:
    """A bar lowered from the lockout to the floor (a deadlift, after its rise) or from standing
    to the bottom (a squat, a Romanian deadlift, a bench press, before it) travels the rep's range
    of motion a second time, on another stretch of the track with noise of its own. Where the two
    disagree by more than `rom_pair_max_dev_m` and `rom_pair_max_dev_fraction` of the range, one of
    them was integrated through a misplaced anchor: the rep's velocity and range are withheld with
    the reason (the rep counts). Otherwise the range is the two combined, each weighted by the
    inverse of the noise its double integral gathers (white noise: variance as duration cubed).
    The mean velocity stays the rise's own. Lowerings broken by a long gap, cut by the end of the
    recording, or shorter than `min_concentric_s` (a sway at the lockout, a sample or two long,
    taken for the lowering) are not used."""
    t, z = track.t_s, track.pos_z_wf_m
    for r, w in zip(reps, windows):
        t0, t1 = w.eccentric_start_s, w.eccentric_end_s
        if not np.isfinite(r.rom_m) or t0 is None or t1 is None:
            continue
        t_lower, t_rise = t1 - t0, r.concentric_end_s - r.concentric_start_s
        i0, i1 = (int(i) for i in np.searchsorted(t, [t0, t1]))
        if t_lower < settings.min_concentric_s or t_rise <= 0 or i1 >= len(t) - 1 or (
                track.long_gap is not None and track.long_gap[i0:i1 + 1].any()):
            continue
        depth = float(np.interp(t0, t, z) - np.interp(t1, t, z))
        if abs(r.rom_m - depth) > max(settings.rom_pair_max_dev_m, settings.rom_pair_max_dev_fraction * r.rom_m):
            _withhold_bar_numbers(r, f"range of motion {r.rom_m:.2f} m, its lowering {depth:.2f} m")
            continue
        w_rise, w_lower = t_rise ** -3.0, t_lower ** -3.0
        r.rom_m = (w_rise * r.rom_m + w_lower * depth) / (w_rise + w_lower)


def _withhold_inconsistent(reps: list[RepResult], max_dev: float = 0.35) -> None:
    """A lifter keeps the range of motion of a set's reps within a few centimetres; a rep whose
    measured range is far from the set's median (more than `max_dev` of it) was measured on a
    track that drifted, and its velocity with it. Its numbers are withheld with the reason; the
    rep still counts."""
    by_set: dict[int, list[RepResult]] = {}
    for r in reps:
        if np.isfinite(r.rom_m):
            by_set.setdefault(r.set, []).append(r)
    for members in by_set.values():
        if len(members) < 3:
            continue
        med = float(np.median([r.rom_m for r in members]))
        for r in members:
            if abs(r.rom_m - med) > max_dev * med:
                _withhold_bar_numbers(r, f"range of motion {r.rom_m:.2f} m is far from the set's {med:.2f} m")


def _withhold_bar_numbers(r: RepResult, evidence: str) -> None:
    """The rep's bar numbers were measured on a track that drifted (`evidence` says how it shows):
    velocity, range and drift are withheld with the reason; the rep still counts."""
    r.quality.append(f"{evidence}: the track drifted here, velocity and range withheld; the rep is counted")
    r.quality_grade = "poor"
    r.mean_velocity_mps = r.peak_velocity_mps = r.rom_m = float("nan")
    r.bar_drift_m = float("nan")
    r.mean_velocity_uncertainty_mps = None




def _drift_against_set_lean(reps: list[RepResult], windows: list[RepWindow],
                            horizontal: dict[tuple[int, int], np.ndarray], track: BarTrack
                            ) -> dict[tuple[int, int], np.ndarray]:
    """Bar drift with the set's common lean removed, and each rep's sagittal path for the report.

    An attitude that is a few degrees off leans every rep's path by the same angle: horizontal
    displacement in proportion to the height gained. A drift of the bar away from the legs is a
    fault of single reps. So where a set has three reps or more, the median lean of its reps
    (horizontal displacement at lockout per metre of rise) is taken out of each before its drift
    is measured; a rep that drifts stands out against the others."""
    def span(w: RepWindow) -> tuple[int, int]:
        return max(w.i_start - 1, 0), w.i_end

    def rise(w: RepWindow) -> np.ndarray:  # bar height from the start of the pull
        i0, i1 = span(w)
        return track.pos_z_wf_m[i0:i1 + 1] - track.pos_z_wf_m[i0]

    leans_by_set: dict[int, list[np.ndarray]] = {}
    for w, rep in zip(windows, reps):
        if rep.bar_drift_m is not None and np.isfinite(rep.bar_drift_m):
            leans_by_set.setdefault(w.set_no, []).append(
                horizontal[(w.set_no, w.rep_no)][-1] / max(float(rise(w)[-1]), 1e-6))
    set_lean = {s: np.median(np.asarray(v), axis=0) for s, v in leans_by_set.items() if len(v) >= 3}
    paths = {}
    for w, rep in zip(windows, reps):
        p = horizontal[(w.set_no, w.rep_no)]
        if w.set_no in set_lean and rep.bar_drift_m is not None and np.isfinite(rep.bar_drift_m):
            p = p - rise(w)[:, None] * set_lean[w.set_no][None, :]
            rep.bar_drift_m = float(np.max(np.linalg.norm(p, axis=1)))
        paths[(w.set_no, w.rep_no)] = _sagittal_path(track, *span(w), p)
    return paths


def _sagittal_path(track: BarTrack, i0: int, i1: int, p: np.ndarray) -> np.ndarray:
    z = track.pos_z_wf_m[i0:i1 + 1] - track.pos_z_wf_m[i0]
    # horizontal along the direction of the bar's furthest excursion from its start, so the
    # sagittal picture is 2-D and shows a bow and a steady drift alike
    axis = p[np.argmax(np.linalg.norm(p, axis=1))]
    nrm = np.linalg.norm(axis)
    x = p @ (axis / nrm) if nrm > 0 else np.zeros(len(p))
    return np.column_stack([x, z])


def _lumbar_metrics(rep: RepResult, w: RepWindow, track: BarTrack, t_lum, incl, flex, th) -> None:
    # work on the slice of the lumbar series around this rep only
    j0 = max(int(np.searchsorted(t_lum, w.concentric_start_s)) - 2, 0)
    j1 = int(np.searchsorted(t_lum, max(w.lockout_end_s, w.concentric_end_s + 1.5))) + 2
    t_lum, incl = t_lum[j0:j1], incl[j0:j1]
    flex = flex[j0:j1] if flex is not None else None
    t = track.t_s[w.i_start:w.i_end + 1]
    if len(t) < 2 or t[0] < t_lum[0] or t[-1] > t_lum[-1]:
        rep.quality.append("lumbar data does not cover this rep")
        return
    inc = np.interp(t, t_lum, incl)
    rep.peak_trunk_inclination_deg = float(inc.max())
    z = track.pos_z_wf_m[w.i_start:w.i_end + 1]
    frac = th.hips_rise_early.early_fraction
    rom = rep.rom_m if np.isfinite(rep.rom_m) else float(z[-1] - z[0])
    early = (z - z[0]) <= frac * max(rom, 1e-6)
    # hips rising first tip the pelvis (the sacral sensor) while the bar is still low; the upper
    # sensor adds the lumbar flexion to it, so with both sensors the hips are judged alone and a
    # rounding back is judged from their difference
    hip = incl - flex if flex is not None else incl
    rep.hip_rise_from = "pelvis" if flex is not None else "trunk"
    h = np.interp(t, t_lum, hip)
    h0 = float(np.interp(w.concentric_start_s, t_lum, hip))
    rep.hip_rise_deg = float(max(h[early].max() if early.any() else h0, h0) - h0)
    lock_end = min(w.lockout_end_s, w.concentric_end_s + 1.5)
    tl = np.linspace(w.concentric_end_s, max(lock_end, w.concentric_end_s + 0.05), 50)
    tl = tl[tl <= t_lum[-1]]
    if len(tl):
        rep.lockout_lean_back_deg = float(-np.interp(tl, t_lum, incl).min())
    if flex is not None:
        f = np.interp(t, t_lum, flex)
        rep.peak_lumbar_flexion_deg = float(f.max())
        rep.lumbar_flexion_gain_deg = float(f.max() - np.interp(w.concentric_start_s, t_lum, flex))
        if len(tl):
            rep.lockout_lumbar_extension_deg = float(-np.interp(tl, t_lum, flex).min())
        withhold_implausible_angles(rep, th.quality, float(f.max()) if len(f) else 0.0,
                                    float(-f.min()) if len(f) else 0.0)
    else:
        withhold_implausible_angles(rep, th.quality, 0.0, 0.0)


def _lumbar_lost(w: RepWindow, prepared: dict, settings: PipelineSettings) -> str | None:
    """Why the lumbar angles of this rep are withheld, or None: a lumbar sensor lost more than
    `settings.lumbar_max_lost_fraction` of the pull, where its peak angle would be."""
    dur = w.concentric_end_s - w.concentric_start_s
    for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
        if role not in prepared or dur <= 0:
            continue
        u = prepared[role][0]
        a, b = np.searchsorted(u.t_s, [w.concentric_start_s, w.concentric_end_s])
        lost_s = float(np.count_nonzero(~u.valid[a:b])) / u.fs_hz
        if lost_s > settings.lumbar_max_lost_fraction * dur:
            return (f"{role.value}: {lost_s:.2f} s of the {dur:.2f} s pull lost: lumbar angles withheld "
                    "(their peak may lie in the gap)")
    return None


def _side_metrics(rep: RepResult, w: RepWindow, t_lum: np.ndarray, rel_q: np.ndarray) -> None:
    """Peak side bend and twist of the spine between the sensors during the pull, signed (to the
    right positive), against the rep's own lockout: upright, and seconds away, within the time
    over which the two sensors' gyroscope headings hold (see analysis.lumbar)."""
    lock_end = min(w.lockout_end_s, w.concentric_end_s + 1.5)
    j0, j1 = np.searchsorted(t_lum, [w.concentric_end_s, max(lock_end, w.concentric_end_s + 0.05)])
    k0, k1 = np.searchsorted(t_lum, [w.concentric_start_s, w.concentric_end_s])
    if j1 - j0 < 2 or k1 - k0 < 2 or w.broken_by_gap:
        return
    _, side, twist = spine_angles_deg(rel_q[k0:k1], mean_quat(rel_q[j0:j1]))
    rep.peak_side_bend_deg = float(side[np.argmax(np.abs(side))])
    rep.peak_twist_deg = float(twist[np.argmax(np.abs(twist))])


def withhold_implausible_angles(rep: RepResult, q: QualityLimits, flexion_max_deg: float, extension_max_deg: float) -> None:
    """No spine bends beyond the quality limits, no lift tips the trunk past them: a sensor slipped,
    or its attitude failed. Those angles are withheld with the reason (the rep and its bar numbers stand)."""
    arched = max(extension_max_deg, rep.lockout_lumbar_extension_deg or 0.0)
    if flexion_max_deg > q.plausible_flexion_max_deg or arched > q.plausible_extension_max_deg:
        rep.quality.append(f"lumbar angle {flexion_max_deg:.0f}° of flexion or {arched:.0f}° of extension is beyond what "
                           f"a spine does ({q.plausible_flexion_max_deg:g}° / {q.plausible_extension_max_deg:g}°): "
                           "lumbar numbers withheld")
        rep.peak_lumbar_flexion_deg = rep.lumbar_flexion_gain_deg = rep.lockout_lumbar_extension_deg = None
    if rep.peak_trunk_inclination_deg is not None and rep.peak_trunk_inclination_deg > q.plausible_inclination_max_deg:
        rep.quality.append(f"trunk inclination {rep.peak_trunk_inclination_deg:.0f}° is beyond a lift's "
                           f"({q.plausible_inclination_max_deg:g}°): trunk numbers withheld")
        rep.peak_trunk_inclination_deg = rep.hip_rise_deg = rep.lockout_lean_back_deg = None


def _sets_and_flags(reps: list[RepResult], exercise: str, th: Thresholds, loads: dict[int, float]) -> list[SetResult]:
    sets = []
    for s in sorted({r.set for r in reps}):
        tracker = SetTracker(exercise, th)
        for r in (r for r in reps if r.set == s):
            tracker.add(r)
        sets.append(tracker.result(s, load_of_set(loads, s)))
    return sets


__all__ = ["analyze", "Series"]


def warm_kernels() -> None:
    """Load the compiled kernels (from numba's cache, or compile them) by running them on tiny
    inputs, so that a caller can do it while it waits for something else."""
    from barback.analysis.bar import extrema
    from barback.analysis.orientation import _despike, _mahony, _rotate

    z = np.zeros((2, 3))
    _mahony(z, z + 1.0, 0.01, np.zeros(2), np.array([1.0, 0.0, 0.0, 0.0]), 0, 2, 1, np.empty((0, 4)), np.empty((0, 3)))
    _rotate(np.zeros((2, 4)), z, np.empty((2, 3)))
    _despike(np.zeros((3, 3)), np.ones(3), np.empty((3, 3)))
    extrema(np.zeros(3), 1.0)
