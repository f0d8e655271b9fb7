"""Physically consistent synthetic lifting sessions with ground truth.

The simulator builds the motion of the bar and of the lifter's pelvis and upper lumbar segment on
a fine time grid (1 kHz), places sensors on them with arbitrary mounting rotations and lever arms,
and derives what each IMU measures:

    specific force  f_sf = R_ws(t)^T (p''(t) + g z_w)        (gravity included, world z up)
    body rate       w_sf = vee(R_ws(t)^T dR_ws/dt)

Sensor errors follow a consumer MEMS model (per-axis scale, cross-axis, bias, white noise,
slow gyro bias drift, int16 quantisation, clipping), sampled at a nominal rate from a drifting
crystal with jitter, optionally stamped with BLE batch arrival times, with gaps and duplicated rows.

Ground truth comes from the same trajectories: per-rep concentric window, mean/peak velocity,
range of motion, bar drift, lumbar flexion (upper relative to lower segment in the sagittal
plane), trunk inclination, and the fault each rep carries.

World frame: x forward (the lifter faces +x while lifting), y left, z up.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from barback.analysis.imu import FLOOR_PULLS, HINGES
from barback.analysis.units import G0_MPS2

FINE_HZ = 1000.0
FLAG_FAULTS = ("lumbar_flexion", "hips_rise_early", "lockout_hyperextension", "bar_drift")
SIDE_FAULTS = ("side_bend", "twist", "bar_tilt")  # one-sided loading (drawn apart, see SimConfig)


@dataclass(frozen=True)
class NoiseModel:
    """Consumer-grade 6-axis MEMS IMU (LSM6DSO/BMI270 class) error model."""

    acc_noise_ug_rthz: float = 180.0
    gyro_noise_mdps_rthz: float = 8.0
    acc_bias_g: float = 0.02  # 1-sigma per axis
    gyro_bias_dps: float = 1.0  # 1-sigma per axis
    gyro_bias_drift_dps_per_h: float = 0.3
    acc_scale_err: float = 0.01  # 1-sigma per axis
    gyro_scale_err: float = 0.01
    cross_axis: float = 0.005
    acc_range_g: float = 16.0
    gyro_range_dps: float = 2000.0
    clock_ppm: float = 40.0
    jitter_s: float = 0.0002


@dataclass(frozen=True)
class CommodityLink:
    """A commodity bar sensor streaming over BLE UART, as measured on 33 real sets (issue table):
    a sender that re-sends held samples, reads the accelerometer and gyroscope at different
    instants, packs rows into connection events stamped on arrival, loses packets in bursts, and
    an IMU with an uncalibrated gyroscope offset and spiky noise. Each range is drawn per session."""

    # Each range is drawn per session so that its median and its range match the table: a
    # triangular draw (low, mode, high), or log-uniform where the table's range spans decades.
    distinct_hz: tuple[float, float, float] = (12.0, 50.0, 55.0)  # real: median 42, 12 to 55
    repeat_frac: tuple[float, float] = (0.18, 0.34)  # rows that repeat the previous row's values
    acc_stale_frac: tuple[float, float] = (0.01, 0.04)  # accelerometer held while the gyroscope changed
    conn_interval_s: tuple[float, float] = (0.020, 0.032)
    row_spacing_s: tuple[float, float] = (0.003, 0.004)  # rows of one burst, stamped on arrival
    # packet-loss gaps of 0.1 s or more per minute, log-uniform (real: median 30, 0 to 209); a
    # share of sessions lose nothing
    loss_per_min: tuple[float, float] = (3.0, 210.0)
    no_loss_prob: float = 0.1
    loss_median_s: float = 0.13
    long_loss_prob: float = 0.03  # a gap of 1 to 3 s instead
    gyro_offset_dps: tuple[float, float] = (6.6, 21.6)  # magnitude of the zero-rate offset
    gyro_noise_dps: tuple[float, float] = (0.7, 45.0)  # log-uniform (real: median 5.3)
    gyro_spike_rate: float = 0.01  # share of samples with a spike of 30 to 200 deg/s
    # white sensor noise, log-uniform; the table's "quietest second" (median 0.022 g, up to
    # 0.09 g) also holds body sway, which is modelled apart
    acc_noise_g: tuple[float, float] = (0.003, 0.06)
    bar_roll_total_deg: tuple[float, float] = (1.0, 137.0)  # roll about the bar's axis over the set


@dataclass(frozen=True)
class SimConfig:
    exercise: str = "deadlift"
    sets: int = 3
    reps_per_set: int = 5
    fs_hz: float = 100.0
    lumbar_sensors: int = 2  # 0, 1 (upper) or 2
    touch_and_go: bool = False
    mean_velocity_first_mps: tuple[float, float] = (0.40, 0.70)
    velocity_loss_final: tuple[float, float] = (0.05, 0.40)
    rest_s: tuple[float, float] = (60.0, 120.0)
    fault_rate: float = 0.25  # probability that a rep carries one of the flag faults
    faults: tuple[str, ...] = FLAG_FAULTS
    timestamps: str = "sensor"  # "sensor" (sample clock) or "arrival" (BLE batch arrival time)
    batch_size: int = 4
    gaps: int = 2  # dropped-data gaps of 0.1 to 0.7 s, placed outside concentric phases
    duplicate_rate: float = 0.002
    noise: NoiseModel = field(default_factory=NoiseModel)
    seed: int = 0
    lead_in_s: float = 4.0
    link: CommodityLink | None = None  # None: a well-behaved sensor with sample-clock stamps
    start_mid_set: bool = False  # the recording starts during set-up and ends soon after the set
    lockout_sway_m: float = 0.003  # band-limited (< 1.2 Hz) bar sway while it is held
    rep_pause_s: tuple[float, float] | None = None  # pause between reps (None: exercise default)
    velocity_shape: tuple[float, float] = (1.0, 2.0)  # exponent a of the sin^a velocity profile
    # One-sided loading, drawn from a random stream of its own (so that the scenarios without it
    # are unchanged): every pull of a deadlift bends and twists the spine and tilts the bar a
    # little (up to natural_asymmetry_deg of side bend, 0.7 of it of twist, 0.5 of it of bar
    # tilt); side_fault_rate of the pulls carry one of SIDE_FAULTS (side bend 12-20 deg, twist
    # 9-15 deg, bar tilt 6-10 deg), to either side.
    natural_asymmetry_deg: float = 0.0
    side_fault_rate: float = 0.0
    # Loads (issue 15's warm-up): each set's load as % of the athlete's 1RM (sets past the tuple
    # keep its last); the first rep's velocity then follows the athlete's load-velocity line, from
    # lv_intercept_mps at no load to 0.14 m/s at 1RM (the deadlift's MVT, Helms et al.), instead of
    # mean_velocity_first_mps. Empty: no loads.
    set_pct_1rm: tuple[float, ...] = ()
    # a personal load ceiling (issue 15): at fault_ceiling_pct of 1RM or more, fault_rate_above of
    # the reps carry one of the faults instead of fault_rate (0: no ceiling)
    fault_ceiling_pct: float = 0.0
    fault_rate_above: float = 0.6
    one_rm_kg: float = 160.0
    lv_intercept_mps: tuple[float, float] = (1.15, 1.35)


# --------------------------------------------------------------------------------------------
# Motion timeline on the fine grid
# --------------------------------------------------------------------------------------------

# lat: side bend of the upper segment, to the right positive; twist: its axial turn, the chest
# to the right positive; bar_tilt: the bar's left end up (its +y end), about the forward axis
_BODY = ("heading", "base_x", "base_y", "hip_z", "pelvis", "flex", "lat", "twist")
_BAR = ("bar_x", "bar_y", "bar_z", "bar_roll", "bar_yaw", "bar_tilt")


def _shape(n: int, a: float, dip: float = 0.0) -> np.ndarray:
    """Velocity profile on (0, 1) with unit mean: sin(pi s)^a with an optional sticking dip."""
    s = (np.arange(n) + 0.5) / n
    v = np.sin(np.pi * s) ** a * (1.0 - dip * np.exp(-(((s - 0.45) / 0.12) ** 2)))
    return v / v.mean()


class _Timeline:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.state = {k: 0.0 for k in _BODY + _BAR}
        self.chunks: dict[str, list[np.ndarray]] = {k: [] for k in _BODY + _BAR}
        self.n = 0
        self.reps: list[dict] = []
        self.bar_sway_m = 0.0
        self.first_motion: int | None = None  # fine index where the first set's lifting begins
        self.set_end: int | None = None  # fine index where the last set's last rep has ended
        self.side_rng: np.random.Generator | None = None  # one-sided loading's own stream
        self.lv_intercept_mps = 1.25  # the athlete's velocity at no load (set_pct_1rm)
        self.set_start: dict[int, int] = {}  # fine index of each set's first pull

    @property
    def t_now(self) -> float:
        return self.n / FINE_HZ

    def _emit(self, n: int, values: dict[str, np.ndarray]) -> None:
        for k in self.chunks:
            arr = values.get(k)
            if arr is None:
                arr = np.full(n, self.state[k])
            self.chunks[k].append(np.asarray(arr, dtype=np.float64))
            self.state[k] = float(arr[-1]) if n else self.state[k]
        self.n += n

    def hold(self, dur: float, sway: float = 1.0, bar_held: bool = False) -> None:
        """Stand (or crouch) still, as a person does: the body sways; a bar held in the hands or
        on the back sways a few millimetres too (band-limited below 1.2 Hz), never perfectly still."""
        n = max(1, int(round(dur * FINE_HZ)))
        tt = np.arange(n) / FINE_HZ
        ph = self.rng.uniform(0, 2 * np.pi, 3)
        amp = np.deg2rad(0.3) * sway
        vals = {
            "pelvis": self.state["pelvis"] + amp * (np.sin(2 * np.pi * 0.23 * tt + ph[0]) - np.sin(ph[0])),
            "flex": self.state["flex"] + amp * (np.sin(2 * np.pi * 0.31 * tt + ph[1]) - np.sin(ph[1])),
            "hip_z": self.state["hip_z"] + 0.002 * sway * (np.sin(2 * np.pi * 0.2 * tt + ph[2]) - np.sin(ph[2])),
        }
        if bar_held and self.bar_sway_m > 0 and dur >= 0.4:
            # The sway starts as the stroke ends: its velocity ramps in over 0.06 s (continuous
            # with the stroke, as a real bar is never stopped dead) and the bar drifts back to
            # where the hold began over the whole hold, so that holds add no net displacement.
            ramp = 0.06
            w = np.sin(0.5 * np.pi * np.clip(np.minimum(tt, dur - tt) / ramp, 0, 1)) ** 2
            back = 0.5 - 0.5 * np.cos(np.pi * tt / dur)
            for ch, scale in (("bar_z", 1.0), ("bar_x", 2.0)):
                f = self.rng.uniform(0.15, 1.2, 4)
                phs = self.rng.uniform(0, 2 * np.pi, 4)
                v = (2 * np.pi * f[:, None] * np.cos(2 * np.pi * f[:, None] * tt[None, :] + phs[:, None])).sum(axis=0) / 2.0
                d = np.cumsum(w * v) / FINE_HZ
                vals[ch] = self.state[ch] + scale * self.bar_sway_m * (d - d[-1] * back)
            self._emit(n, vals)
            return
        self._emit(n, vals)

    def move(self, dur: float, targets: dict[str, float], a: float = 2.0) -> None:
        """Move channels to targets with a smooth bell velocity profile."""
        n = max(2, int(round(dur * FINE_HZ)))
        lam = np.cumsum(_shape(n, a)) / n
        vals = {k: self.state[k] + (v - self.state[k]) * lam for k, v in targets.items()}
        self._emit(n, vals)

    def walk(self, dur: float, turn: float, speed: float = 0.9) -> None:
        n = int(round(dur * FINE_HZ))
        tt = np.arange(n) / FINE_HZ
        lam = np.cumsum(_shape(n, 2.0)) / n
        heading = self.state["heading"] + turn * lam
        ramp = np.clip(np.minimum(tt, dur - tt) / 0.8, 0, 1)
        v = speed * ramp
        step_hz = 1.8
        vals = {
            "heading": heading,
            "base_x": self.state["base_x"] + np.cumsum(v * np.cos(heading)) / FINE_HZ,
            "base_y": self.state["base_y"] + np.cumsum(v * np.sin(heading)) / FINE_HZ,
            "hip_z": self.state["hip_z"] + 0.02 * ramp * np.sin(2 * np.pi * 2 * step_hz * tt) ** 2,
            "pelvis": self.state["pelvis"] + np.deg2rad(2.0) * ramp * np.sin(2 * np.pi * 2 * step_hz * tt),
            "flex": self.state["flex"] + np.deg2rad(1.5) * ramp * np.sin(2 * np.pi * 2 * step_hz * tt + 1),
            "lat": self.state["lat"] + np.deg2rad(3.0) * ramp * np.sin(2 * np.pi * step_hz * tt),
        }
        self._emit(n, vals)

    def bar_stroke(self, dur: float, dz: float, a: float, dip: float, body: dict | None = None,
                   drift_m: float = 0.0, end_dx: float = 0.0, roll_rad: float = 0.0,
                   end_roll_rad: float = 0.0, steady_m: float = 0.0) -> tuple[int, int]:
        """Move the bar vertically by dz over dur with velocity shape sin^a; body channels follow
        functions of the bar's progress lam in [0, 1]. Returns the fine-grid index range."""
        n = max(2, int(round(dur * FINE_HZ)))
        cum = np.cumsum(_shape(n, a, dip))
        lam = cum / cum[-1]  # reaches 1 exactly at the last sample: the stroke ends when the bar stops
        z0, x0, r0 = self.state["bar_z"], self.state["bar_x"], self.state["bar_roll"]
        vals = {
            "bar_z": z0 + lam * dz,
            # a bow away from the legs (drift_m), and a steady drift forward over the first 80 % of
            # the pull that stays there (steady_m)
            "bar_x": x0 + drift_m * np.sin(np.pi * lam) ** 2 + end_dx * lam
            + steady_m * np.sin(0.5 * np.pi * np.clip(lam / 0.8, 0, 1)) ** 2,
            "bar_roll": r0 + roll_rad * np.sin(np.pi * lam) + end_roll_rad * lam,
        }
        for k, fn in (body or {}).items():
            vals[k] = fn(lam)
        i0 = self.n
        self._emit(n, vals)
        return i0, self.n

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.chunks.items()}


def _roll_steps(cfg: SimConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """Roll of the bar about its own axis added by each rep (hands regrip, the bar turns):
    on a commodity link the set's total roll is drawn from the measured range."""
    if cfg.link is None or n == 0:
        return np.zeros(n)
    total = np.deg2rad(rng.uniform(*cfg.link.bar_roll_total_deg)) * rng.choice([-1, 1])
    w = rng.uniform(0.2, 1.0, n)
    return total * w / w.sum()


def _lerp(a: float, b: float, g):
    return a + (b - a) * g


# --------------------------------------------------------------------------------------------
# Exercise scripts
# --------------------------------------------------------------------------------------------

@dataclass
class _RepPlan:
    mv: float
    fault: str | None
    rom: float


def _plan_set(cfg: SimConfig, rng: np.random.Generator, rom: float, set_no: int = 1,
              lv_intercept_mps: float = 1.25) -> list[_RepPlan]:
    n = cfg.reps_per_set
    mv1 = rng.uniform(*cfg.mean_velocity_first_mps)
    vl = rng.uniform(*cfg.velocity_loss_final)
    rate = cfg.fault_rate
    if cfg.set_pct_1rm:  # the load sets the speed: a lighter load moves faster
        pct = set_pct(cfg, set_no)
        if cfg.fault_ceiling_pct and pct >= cfg.fault_ceiling_pct:
            rate = cfg.fault_rate_above
        mv1 = (lv_intercept_mps - (lv_intercept_mps - 0.14) * pct / 100.0) * (1 + rng.normal(0, 0.02))
        vl *= pct / 100.0  # light sets barely slow down
    plans = []
    for i in range(n):
        frac = (i / (n - 1)) ** 1.3 if n > 1 else 0.0
        mv = mv1 * (1 - vl * frac) * (1 + rng.normal(0, 0.015))
        fault = None
        if cfg.faults and rng.uniform() < rate:
            fault = str(rng.choice(cfg.faults))
        plans.append(_RepPlan(mv=max(mv, 0.08), fault=fault, rom=rom * rng.uniform(0.97, 1.03)))
    return plans


def _deadlift_poses(rng, plan: _RepPlan):
    trunk_b = np.deg2rad(rng.uniform(45, 60))
    flex_b = np.deg2rad(rng.uniform(12, 28))
    trunk_t = np.deg2rad(rng.uniform(-3, 1.5))
    flex_t = np.deg2rad(rng.uniform(-2.5, 1))
    hips = rounding = steady = 0.0
    drift = rng.uniform(-0.015, 0.015)
    if plan.fault == "lockout_hyperextension":
        trunk_t = np.deg2rad(rng.uniform(-20, -13))
        flex_t = np.deg2rad(rng.uniform(-16, -11))
    elif plan.fault == "hips_rise_early":
        hips = np.deg2rad(rng.uniform(16, 26))
    elif plan.fault == "lumbar_flexion":
        rounding = np.deg2rad(rng.uniform(24, 34))
    elif plan.fault == "bar_drift":  # two shapes: a bow away from the legs, or forward and staying
        if rng.uniform() < 0.5:
            drift = rng.uniform(0.07, 0.12)
        else:
            steady = rng.uniform(0.07, 0.10)
    return dict(trunk_b=trunk_b, flex_b=flex_b, trunk_t=trunk_t, flex_t=flex_t, hips=hips,
                rounding=rounding, drift=drift, steady=steady)


def _pull_body(p: dict, hip_b: float, hip_t: float):
    """Body channels as functions of bar progress lam during a concentric pull."""
    def rounding(lam):
        return p["rounding"] * np.sin(np.pi * np.clip(lam / 0.6, 0, 1)) * (lam < 0.6)

    def trunk(lam):  # hips rising first tip the pelvis and the trunk with it; a rounding back
        # flexes the spine between the sensors over a pelvis that keeps its path, so the upper
        # lumbar sensor tips forward just as it does when the hips rise
        bump = np.sin(np.pi * np.clip(lam / 0.5, 0, 1)) * (lam < 0.5)
        return _lerp(p["trunk_b"], p["trunk_t"], lam ** 1.5) + p["hips"] * bump + rounding(lam)

    def flex(lam):
        return _lerp(p["flex_b"], p["flex_t"], lam ** 1.5) + rounding(lam)

    return {
        "flex": flex,
        "pelvis": lambda lam: trunk(lam) - flex(lam),
        "hip_z": lambda lam: _lerp(hip_b, hip_t, lam ** 0.8),
    }


def _lower_body(trunk_from, flex_from, trunk_to, flex_to, hip_from, hip_to):
    def flex(lam):
        return _lerp(flex_from, flex_to, 1 - (1 - lam) ** 1.5)

    def trunk(lam):
        return _lerp(trunk_from, trunk_to, 1 - (1 - lam) ** 1.5)

    return {
        "flex": flex,
        "pelvis": lambda lam: trunk(lam) - flex(lam),
        "hip_z": lambda lam: _lerp(hip_from, hip_to, 1 - (1 - lam) ** 1.25),
    }


def _three_knots(v0: float, peak: float, v1: float, at: float):
    """A smooth path from v0 through peak (at progress `at`) to v1 over lam in [0, 1]."""
    def f(lam):
        lam = np.asarray(lam, float)
        up = 0.5 - 0.5 * np.cos(np.pi * np.clip(lam / at, 0, 1))
        down = 0.5 - 0.5 * np.cos(np.pi * np.clip((lam - at) / (1 - at), 0, 1))
        return np.where(lam < at, v0 + (peak - v0) * up, peak + (v1 - peak) * down)
    return f


def _side_pull(cfg: SimConfig, tl: _Timeline) -> tuple[dict, str | None]:
    """One pull's one-sided loading: channel paths over the pull (from the set-up's side bend and
    twist through a peak early in the pull to what is left at lockout; the bar level on the floor,
    tilting as one side leads and keeping part of it at the top) and its fault, if any."""
    rng = tl.side_rng
    if rng is None or (cfg.natural_asymmetry_deg <= 0 and cfg.side_fault_rate <= 0):
        return {}, None
    nat = np.deg2rad(cfg.natural_asymmetry_deg)
    side, twist, tilt = (rng.uniform(-1, 1) * nat * k for k in (1.0, 0.7, 0.5))
    fault = str(rng.choice(SIDE_FAULTS)) if rng.uniform() < cfg.side_fault_rate else None
    sign = rng.choice([-1.0, 1.0])
    if fault == "side_bend":
        side = sign * np.deg2rad(rng.uniform(12, 20))
    elif fault == "twist":
        twist = sign * np.deg2rad(rng.uniform(9, 15))
    elif fault == "bar_tilt":
        tilt = sign * np.deg2rad(rng.uniform(6, 10))
    at = rng.uniform(0.25, 0.5)
    return {"lat": _three_knots(tl.state["lat"], side, side * rng.uniform(0, 0.15), at),
            "twist": _three_knots(tl.state["twist"], twist, twist * rng.uniform(0, 0.15), at),
            "bar_tilt": _three_knots(tl.state["bar_tilt"], tilt, tilt * rng.uniform(0.3, 0.8), 0.5)}, fault


def _side_setup(cfg: SimConfig, tl: _Timeline) -> dict:
    """Lowering to the next pull: the spine takes its set-up side bend and twist, the bar lands
    level on its plates."""
    rng = tl.side_rng
    if rng is None or (cfg.natural_asymmetry_deg <= 0 and cfg.side_fault_rate <= 0):
        return {}
    nat = np.deg2rad(cfg.natural_asymmetry_deg)
    lat0, tw0, ti0 = tl.state["lat"], tl.state["twist"], tl.state["bar_tilt"]
    lat1, tw1 = rng.uniform(-0.5, 0.5) * nat, rng.uniform(-0.35, 0.35) * nat
    return {"lat": lambda lam: lat0 + (lat1 - lat0) * lam, "twist": lambda lam: tw0 + (tw1 - tw0) * lam,
            "bar_tilt": lambda lam: ti0 * (1 - lam)}


def set_pct(cfg: SimConfig, set_no: int) -> float:
    return float(cfg.set_pct_1rm[min(set_no, len(cfg.set_pct_1rm)) - 1])


def _rep_truth(tl: _Timeline, set_no: int, rep_no: int, i0: int, i1: int, plan: _RepPlan,
               p: dict, side_fault: str | None = None) -> None:
    tl.reps.append(dict(set=set_no, rep=rep_no, i0=i0, i1=i1, fault=plan.fault,
                        drift=p.get("drift", 0.0), side_fault=side_fault))


# floor pulls by style: the bar's travel and the trunk's forward tilt at the floor (degrees). A
# sumo stance (65-70 cm against 32-33 cm, Escamilla et al. 2000) shortens the pull by about 19 %
# (McGuigan & Wilson 1996) and keeps the trunk more upright; a hexagonal bar, held at the sides,
# sits the lifter between squat and conventional pull (Swinton et al. 2011).
_PULL_STYLE = {"deadlift": ((0.50, 0.62), None), "sumo_deadlift": ((0.40, 0.50), (30.0, 45.0)),
               "trap_bar_deadlift": ((0.46, 0.58), (35.0, 50.0))}


def _script_deadlift(cfg: SimConfig, tl: _Timeline, rng, set_no: int, romanian: bool = False):
    rom_range, trunk_range = _PULL_STYLE.get(cfg.exercise, _PULL_STYLE["deadlift"])
    rom_full = rng.uniform(*rom_range)
    plans = _plan_set(cfg, rng, rom_full if not romanian else rng.uniform(0.35, 0.48), set_no, tl.lv_intercept_mps)
    hip_stand, hip_b = 0.95, rng.uniform(0.58, 0.68)
    # walk to the bar and set up (bar still)
    p0 = _deadlift_poses(rng, _RepPlan(0.5, None, rom_full))
    if trunk_range is not None:
        p0["trunk_b"] = np.deg2rad(rng.uniform(*trunk_range))
    tl.move(rng.uniform(1.5, 2.5), {"pelvis": p0["trunk_b"] - p0["flex_b"], "flex": p0["flex_b"],
                                     "hip_z": hip_b})
    tl.hold(rng.uniform(0.5, 1.5), sway=0.3)
    if romanian:  # pick the bar up from the floor: not a rep
        pu = dict(p0, trunk_t=0.0, flex_t=0.0, hips=0.0, rounding=0.0, drift=0.0)
        tl.bar_stroke(rom_full / rng.uniform(0.5, 0.7), rom_full, 1.5, 0.2,
                      _pull_body(pu, hip_b, hip_stand))
        tl.hold(rng.uniform(1.0, 2.0), sway=0.5, bar_held=True)
    if tl.first_motion is None:
        tl.first_motion = tl.n
    roll_step = _roll_steps(cfg, rng, len(plans))
    for r, plan in enumerate(plans):
        p = _deadlift_poses(rng, plan)
        if trunk_range is not None:  # a sumo or hexagonal-bar pull: the trunk more upright, the back less bent
            p["trunk_b"] = np.deg2rad(rng.uniform(*trunk_range))
            p["flex_b"] *= 0.8
        a = rng.uniform(*cfg.velocity_shape)
        dip = rng.uniform(0.0, 0.35)
        if romanian:
            trunk_b = np.deg2rad(rng.uniform(65, 85))
            flex_b = np.deg2rad(rng.uniform(10, 24))
            p.update(trunk_b=trunk_b, flex_b=flex_b)
            if plan.fault == "lumbar_flexion":  # a back rounded at the bottom, past the limit
                p["flex_b"] = np.deg2rad(rng.uniform(40, 50))
                p["rounding"] = 0.0
            hip_lo = hip_stand - 0.05
            # eccentric first: hinge down from standing with the bar
            tl.bar_stroke(rng.uniform(1.2, 2.0), -plan.rom, 1.5, 0.0,
                          _lower_body(tl.state["pelvis"] + tl.state["flex"], tl.state["flex"],
                                      p["trunk_b"], p["flex_b"], tl.state["hip_z"], hip_lo),
                          roll_rad=np.deg2rad(rng.uniform(-3, 3)))
            tl.hold(rng.uniform(0.0, 0.3), sway=0.2, bar_held=True)
            hip_from = hip_lo
        else:
            if r > 0 and not cfg.touch_and_go:
                tl.hold(rng.uniform(*(cfg.rep_pause_s or (0.4, 1.8))), sway=0.2)  # bar on the floor
            # the pull starts from the pose the lifter is in (set up, or back down from the last rep)
            p["flex_b"] = tl.state["flex"]
            p["trunk_b"] = tl.state["pelvis"] + tl.state["flex"]
            hip_from = tl.state["hip_z"]
        side, side_fault = _side_pull(cfg, tl)
        i0, i1 = tl.bar_stroke(plan.rom / plan.mv, plan.rom, a, dip,
                               {**_pull_body(p, hip_from, hip_stand), **side}, drift_m=p["drift"], steady_m=p["steady"],
                               end_dx=rng.uniform(-0.015, 0.01),
                               roll_rad=np.deg2rad(rng.uniform(-6, 6)), end_roll_rad=roll_step[r])
        _rep_truth(tl, set_no, r + 1, i0, i1, plan, p, side_fault)
        lock = cfg.rep_pause_s or ((0.3, 1.2) if not romanian else (0.5, 1.5))
        tl.hold(rng.uniform(*lock), sway=0.5, bar_held=True)
        last = r == len(plans) - 1
        if romanian and not last:
            continue
        # lower the bar to the floor (eccentric); touch-and-go flows into the next pull
        nxt = _deadlift_poses(rng, _RepPlan(0.5, None, rom_full))
        if trunk_range is not None:
            nxt["trunk_b"] = np.deg2rad(rng.uniform(*trunk_range))
        drop = tl.state["bar_z"] - 0.225  # back to the floor (plates' radius)
        tl.bar_stroke(rng.uniform(0.9, 1.5), -drop, rng.uniform(1.0, 1.6), 0.0,
                      {**_lower_body(tl.state["pelvis"] + tl.state["flex"], tl.state["flex"],
                                     nxt["trunk_b"], nxt["flex_b"], tl.state["hip_z"], hip_b), **_side_setup(cfg, tl)},
                      drift_m=rng.uniform(-0.01, 0.01), end_dx=-tl.state["bar_x"],
                      roll_rad=np.deg2rad(rng.uniform(-4, 4)))
    tl.set_end = tl.n
    # stand up and leave the bar
    tl.hold(rng.uniform(0.5, 1.0), sway=0.3)
    tl.move(rng.uniform(1.2, 2.0), {"pelvis": 0.0, "flex": 0.0, "hip_z": hip_stand})


def _script_squat_bench(cfg: SimConfig, tl: _Timeline, rng, set_no: int, bench: bool):
    rom = rng.uniform(0.32, 0.45) if bench else rng.uniform(0.50, 0.65)
    plans = _plan_set(cfg, rng, rom, set_no, tl.lv_intercept_mps)
    hip_stand = 0.95
    # unrack: up off the hooks, then walk back (squat) or move over the chest (bench)
    tl.bar_stroke(0.6, 0.05 if not bench else 0.035, 2.0, 0.0)
    tl.hold(0.3, sway=0.3)
    n = int(2.0 * FINE_HZ)
    tt = np.arange(n) / FINE_HZ
    lam = np.cumsum(_shape(n, 2.0)) / n
    back = -0.6 if not bench else -0.25
    bob = 0.0 if bench else 0.015
    tl._emit(n, {"bar_x": tl.state["bar_x"] + back * lam,
                 "bar_z": tl.state["bar_z"] + bob * np.sin(2 * np.pi * 1.5 * tt) ** 2,
                 "base_x": tl.state["base_x"] + (back * lam if not bench else 0 * lam),
                 "hip_z": tl.state["hip_z"] + (0.01 * np.sin(2 * np.pi * 1.5 * tt) ** 2 if not bench else 0 * tt)})
    tl.hold(rng.uniform(1.0, 2.0), sway=0.5, bar_held=True)
    if tl.first_motion is None:
        tl.first_motion = tl.n
    roll_step = _roll_steps(cfg, rng, len(plans))
    for r, plan in enumerate(plans):
        p = _deadlift_poses(rng, plan)
        if bench:
            body_e = body_c = None
        else:
            trunk_b = np.deg2rad(rng.uniform(25, 45))
            flex_b = np.deg2rad(rng.uniform(5, 20))
            if plan.fault == "lumbar_flexion":  # rounded in the hole, past the limit
                flex_b = np.deg2rad(rng.uniform(40, 50))
            hip_b = rng.uniform(0.45, 0.55)
            body_e = _lower_body(tl.state["pelvis"] + tl.state["flex"], tl.state["flex"],
                                 trunk_b, flex_b, tl.state["hip_z"], hip_b)
            p.update(trunk_b=trunk_b, flex_b=flex_b, rounding=0.0)
            body_c = _pull_body(p, hip_b, hip_stand)
        tl.bar_stroke(rng.uniform(1.0, 1.8), -plan.rom, rng.uniform(1.2, 1.8), 0.0, body_e,
                      roll_rad=np.deg2rad(rng.uniform(-2, 2)))
        tl.hold(rng.uniform(0.0, 0.25) if not bench else rng.uniform(0.0, 1.0), sway=0.1, bar_held=True)
        a = rng.uniform(*cfg.velocity_shape)
        i0, i1 = tl.bar_stroke(plan.rom / plan.mv, plan.rom, a, rng.uniform(0, 0.35), body_c,
                               drift_m=p["drift"] if plan.fault == "bar_drift" else rng.uniform(-0.01, 0.01),
                               steady_m=p["steady"],
                               roll_rad=np.deg2rad(rng.uniform(-3, 3)), end_roll_rad=roll_step[r])
        _rep_truth(tl, set_no, r + 1, i0, i1, plan, p)
        tl.hold(rng.uniform(*(cfg.rep_pause_s or (0.8, 2.5))), sway=0.5, bar_held=True)
    tl.set_end = tl.n
    n = int(2.0 * FINE_HZ)
    tt = np.arange(n) / FINE_HZ
    lam = np.cumsum(_shape(n, 2.0)) / n
    tl._emit(n, {"bar_x": tl.state["bar_x"] - back * lam,
                 "base_x": tl.state["base_x"] - (back * lam if not bench else 0 * lam)})
    tl.bar_stroke(0.6, -(0.05 if not bench else 0.035), 2.0, 0.0)


def _build_timeline(cfg: SimConfig, rng: np.random.Generator) -> _Timeline:
    tl = _Timeline(rng)
    tl.side_rng = np.random.default_rng([cfg.seed, 15])
    if cfg.set_pct_1rm:
        tl.lv_intercept_mps = float(np.random.default_rng([cfg.seed, 151]).uniform(*cfg.lv_intercept_mps))
    s = tl.state
    s["hip_z"] = 0.95
    s["bar_z"] = 0.225 if cfg.exercise in (*FLOOR_PULLS, "romanian_deadlift") else (
        1.42 if cfg.exercise == "squat" else 0.95)
    s["bar_roll"] = rng.uniform(-np.pi, np.pi)
    s["heading"] = rng.normal(0, 0.1)
    tl.bar_sway_m = cfg.lockout_sway_m
    tl.hold(cfg.lead_in_s, sway=0.5)  # quiet standing: the zero of flexion and inclination
    for k in range(cfg.sets):
        if k > 0:
            rest = rng.uniform(*cfg.rest_s)
            # walk away, turn, come back, face the bar again; the bar gets knocked and rolled
            tl.hold(rng.uniform(3, 8))
            w = rng.uniform(4, 7)
            tl.walk(w, np.pi * rng.choice([-1, 1]))
            tl.hold(max(rest - 2 * w - 20, 5.0))
            tl._emit(int(1.5 * FINE_HZ), {"bar_roll": s["bar_roll"] + np.deg2rad(rng.uniform(-40, 40)) *
                                          (np.cumsum(_shape(int(1.5 * FINE_HZ), 2.0)) / int(1.5 * FINE_HZ))})
            tl.walk(w, np.pi * rng.choice([-1, 1]))
            turn_back = (rng.normal(0, 0.15) - s["heading"] + np.pi) % (2 * np.pi) - np.pi
            tl.move(1.5, {"heading": s["heading"] + turn_back})
            tl.move(1.0, {"base_x": 0.0, "base_y": 0.0})
            tl.hold(rng.uniform(3, 8))
        if cfg.exercise in FLOOR_PULLS:
            _script_deadlift(cfg, tl, rng, k + 1)
        elif cfg.exercise == "romanian_deadlift":
            _script_deadlift(cfg, tl, rng, k + 1, romanian=True)
        elif cfg.exercise in ("squat", "bench_press"):
            _script_squat_bench(cfg, tl, rng, k + 1, bench=cfg.exercise == "bench_press")
        else:
            raise ValueError(f"unknown exercise {cfg.exercise!r}")
    tl.hold(rng.uniform(4, 8))
    return tl


# --------------------------------------------------------------------------------------------
# Kinematics to sensor readings
# --------------------------------------------------------------------------------------------

def _rot_y(a):
    return Rotation.from_rotvec(np.outer(a, [0.0, 1.0, 0.0]))


def _rot_z(a):
    return Rotation.from_rotvec(np.outer(a, [0.0, 0.0, 1.0]))


def _rot_x(a):
    return Rotation.from_rotvec(np.outer(a, [1.0, 0.0, 0.0]))


def _imu_ideal(pos_wf: np.ndarray, rot_ws: Rotation) -> tuple[np.ndarray, np.ndarray]:
    """Specific force and body rate (sensor frame) on the fine grid."""
    dt = 1.0 / FINE_HZ
    acc_wf = np.gradient(np.gradient(pos_wf, dt, axis=0), dt, axis=0)
    acc_wf[:, 2] += G0_MPS2
    f_sf = rot_ws.apply(acc_wf, inverse=True)
    d = (rot_ws[:-1].inv() * rot_ws[1:]).as_rotvec() / dt  # body rate at k + 1/2
    w = np.empty_like(f_sf)
    w[1:-1] = 0.5 * (d[:-1] + d[1:])
    w[0], w[-1] = d[0], d[-1]
    return f_sf, w


def _body_kinematics(ch: dict[str, np.ndarray]):
    """Pelvis (sacral) and upper-lumbar segment poses from the body channels."""
    sm = {k: gaussian_filter1d(ch[k], 25.0, mode="nearest") for k in _BODY}
    heading = _rot_z(sm["heading"])
    pelvis_rot = heading * _rot_y(sm["pelvis"])
    upper_rot = heading * _rot_y(sm["pelvis"] + sm["flex"]) * _rot_x(sm["lat"]) * _rot_z(-sm["twist"])
    hip = np.column_stack([sm["base_x"], sm["base_y"], sm["hip_z"]])
    sacrum = hip + pelvis_rot.apply([-0.11, 0.0, 0.08])
    l5 = hip + pelvis_rot.apply([-0.07, 0.0, 0.13])
    t12 = l5 + upper_rot.apply([-0.05, 0.0, 0.19])
    return sm, (sacrum, pelvis_rot), (t12, upper_rot)


def _sample(rng, t_fine, f_sf, w_sf, fs_hz, nm: NoiseModel, t_end: float):
    clock = 1.0 + rng.normal(0, nm.clock_ppm * 1e-6)
    t0 = rng.uniform(0, 1.0 / fs_hz)
    n = int((t_end - t0) * fs_hz * clock) - 1
    t = t0 + np.arange(n) / (fs_hz * clock) + rng.normal(0, nm.jitter_s, n)
    t = np.clip(np.maximum.accumulate(t), 0, t_fine[-1])
    f = np.column_stack([np.interp(t, t_fine, f_sf[:, i]) for i in range(3)])
    w = np.column_stack([np.interp(t, t_fine, w_sf[:, i]) for i in range(3)])
    ma = np.eye(3) + np.diag(rng.normal(0, nm.acc_scale_err, 3)) + rng.normal(0, nm.cross_axis, (3, 3)) * (1 - np.eye(3))
    mg = np.eye(3) + np.diag(rng.normal(0, nm.gyro_scale_err, 3)) + rng.normal(0, nm.cross_axis, (3, 3)) * (1 - np.eye(3))
    acc_g = f @ ma.T / G0_MPS2 + rng.normal(0, nm.acc_bias_g, 3)
    acc_g += rng.normal(0, nm.acc_noise_ug_rthz * 1e-6 * np.sqrt(fs_hz / 2), (n, 3))
    drift = rng.normal(0, nm.gyro_bias_drift_dps_per_h, 3)
    gyro_dps = np.rad2deg(w) @ mg.T + rng.normal(0, nm.gyro_bias_dps, 3) + np.outer(t / 3600.0, drift)
    gyro_dps += rng.normal(0, nm.gyro_noise_mdps_rthz * 1e-3 * np.sqrt(fs_hz / 2), (n, 3))
    acc_g = np.clip(np.round(acc_g * 32768 / nm.acc_range_g) * nm.acc_range_g / 32768, -nm.acc_range_g, nm.acc_range_g)
    gyro_dps = np.clip(np.round(gyro_dps * 32768 / nm.gyro_range_dps) * nm.gyro_range_dps / 32768,
                       -nm.gyro_range_dps, nm.gyro_range_dps)
    return t, acc_g, gyro_dps


def _log_uniform(rng, lo_hi: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(lo_hi[0]), np.log(lo_hi[1]))))


def _loss_intervals(rng, link: CommodityLink, t_end: float) -> list[tuple[float, float]]:
    """Packet-loss bursts on the arrival clock: a Poisson process of gaps, mostly 0.1 to 0.7 s
    (median 0.13 s), now and then seconds long."""
    if rng.uniform() < link.no_loss_prob:
        return []
    rate = _log_uniform(rng, link.loss_per_min)
    n = rng.poisson(rate * t_end / 60.0)
    out = []
    for g0 in np.sort(rng.uniform(0, t_end, n)):
        if rng.uniform() < link.long_loss_prob:
            length = rng.uniform(1.0, 3.0)
        else:
            length = float(np.clip(link.loss_median_s * np.exp(rng.normal(0, 0.7)), 0.1, 0.7))
        out.append((float(g0), float(g0) + length))
    return out


def _commodity_rows(rng, t_fine, f_sf, w_sf, link: CommodityLink, nm: NoiseModel, t_end: float,
                    losses: list[tuple[float, float]]):
    """Rows as a commodity BLE-UART bar sensor delivers them (see `CommodityLink`)."""
    fs = rng.triangular(*link.distinct_hz)
    clock = 1.0 + rng.normal(0, nm.clock_ppm * 1e-6)
    t0 = rng.uniform(0, 1.0 / fs)
    n = int((t_end - t0 - 0.05) * fs * clock)
    ts = t0 + np.arange(n) / (fs * clock) + rng.normal(0, 0.0005, n)  # the sender loop's jitter
    ts = np.clip(np.maximum.accumulate(ts), 0, t_fine[-1])
    tg = np.minimum(ts + rng.uniform(0.001, 0.004), t_fine[-1])  # gyroscope read a little later
    f = np.column_stack([np.interp(ts, t_fine, f_sf[:, i]) for i in range(3)])
    w = np.column_stack([np.interp(tg, t_fine, w_sf[:, i]) for i in range(3)])
    ma = np.eye(3) + np.diag(rng.normal(0, nm.acc_scale_err, 3)) + rng.normal(0, nm.cross_axis, (3, 3)) * (1 - np.eye(3))
    mg = np.eye(3) + np.diag(rng.normal(0, nm.gyro_scale_err, 3)) + rng.normal(0, nm.cross_axis, (3, 3)) * (1 - np.eye(3))
    acc_g = f @ ma.T / G0_MPS2 + rng.normal(0, nm.acc_bias_g, 3)
    acc_g += rng.normal(0, _log_uniform(rng, link.acc_noise_g), (n, 3))
    off = rng.normal(size=3)
    off *= rng.uniform(*link.gyro_offset_dps) / np.linalg.norm(off)
    gyro_dps = np.rad2deg(w) @ mg.T + off + rng.normal(0, _log_uniform(rng, link.gyro_noise_dps), (n, 3))
    spikes = rng.uniform(size=n) < link.gyro_spike_rate
    gyro_dps[spikes] += rng.uniform(30, 200, (int(spikes.sum()), 3)) * rng.choice([-1, 1], (int(spikes.sum()), 3))
    acc_g = np.round(acc_g / 0.000488) * 0.000488  # LSM6DS33 at +-16 g and +-2000 dps
    gyro_dps = np.round(gyro_dps / 0.07) * 0.07
    stale = np.flatnonzero(rng.uniform(size=n) < rng.uniform(*link.acc_stale_frac))
    stale = stale[stale > 0]
    acc_g[stale] = acc_g[stale - 1]
    # the sender re-sends the held sample now and then
    r = rng.uniform(*link.repeat_frac)
    again = rng.uniform(size=n) < r / (1 - r)
    src = np.sort(np.concatenate([np.arange(n), np.flatnonzero(again)]))
    first = np.r_[True, src[1:] != src[:-1]]
    send = ts[src] + 0.001 + np.where(first, 0.0, rng.uniform(0.3, 0.9, len(src)) / fs)
    # packed into connection events and stamped on arrival, rows a few ms apart
    ci = rng.uniform(*link.conn_interval_s)
    c0 = rng.uniform(0, ci)
    ev = np.ceil((send - c0) / ci).astype(np.int64)
    ev = np.maximum.accumulate(ev)
    _, start = np.unique(ev, return_index=True)
    m = np.arange(len(ev)) - np.repeat(start, np.diff(np.r_[start, len(ev)]))
    lat = 0.004 + rng.gamma(2.0, 0.002, int(ev[-1]) + 1)
    stamp = c0 + ev * ci + lat[ev] + m * rng.uniform(*link.row_spacing_s)
    keep = np.ones(len(src), bool)
    for g0, g1 in losses:
        keep &= ~((stamp >= g0) & (stamp < g1))
    keep &= rng.uniform(size=int(ev[-1]) + 1)[ev] > 0.02  # single lost packets
    return stamp[keep], acc_g[src[keep]], gyro_dps[src[keep]]


def _arrival_times(rng, t: np.ndarray, batch: int) -> np.ndarray:
    """Host arrival stamps: samples come in notifications of `batch`, delayed by the link."""
    idx_last = np.minimum((np.arange(len(t)) // batch + 1) * batch - 1, len(t) - 1)
    lat = 0.008 + rng.gamma(2.0, 0.004, len(t))
    arr = t[idx_last] + lat[idx_last]
    return np.maximum.accumulate(arr)


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------

# which injected faults the sensors can show: rounding needs both lumbar sensors, the trunk's faults
# one; hips rising first is a fault of pulls and squats from the bottom
_FAULT_NEEDS = {"lumbar_flexion": 2, "hips_rise_early": 1, "lockout_hyperextension": 1, "bar_drift": 0,
                "side_bend": 2, "twist": 2, "bar_tilt": 0}
_FAULT_EXERCISES = {"lumbar_flexion": HINGES, "hips_rise_early": (*FLOOR_PULLS, "squat"),
                    "lockout_hyperextension": HINGES}


def _true_flags(cfg: SimConfig, fault: str | None, velocity_loss_pct: float, threshold_pct: float) -> list[str]:
    """A rep's true flags are the faults the simulator put into it (where its sensors can show
    them) and a velocity loss past the threshold, from the true velocities: never the output of
    the flag rules under test."""
    out = []
    if fault and cfg.lumbar_sensors >= _FAULT_NEEDS[fault] and cfg.exercise in _FAULT_EXERCISES.get(
            fault, (cfg.exercise,)):
        out.append(fault)
    if velocity_loss_pct >= threshold_pct:
        out.append("velocity_loss")
    return sorted(out)


def _truth(cfg: SimConfig, tl: _Timeline, ch: dict, sm: dict, thresholds) -> list[dict]:
    dt = 1.0 / FINE_HZ
    vz = np.gradient(ch["bar_z"], dt)
    trunk = np.rad2deg(sm["pelvis"] + sm["flex"])
    pelvis = np.rad2deg(sm["pelvis"])
    flex = np.rad2deg(sm["flex"])
    reps = []
    for r in tl.reps:
        i0, i1 = r["i0"], r["i1"]
        zc = ch["bar_z"][i0:i1]
        rom = float(zc[-1] - zc[0])
        t0, t1 = i0 * dt, i1 * dt
        lam = (zc - zc[0]) / rom
        early = lam <= 0.3
        # lockout window: from the top until the bar starts down again (or 1.5 s)
        j = i1
        while j < len(vz) - 1 and vz[j] > -0.05 and j - i1 < 1.5 * FINE_HZ:
            j += 1
        x = ch["bar_x"][i0:i1]
        rep = dict(
            set=r["set"], rep=r["rep"], concentric_start_s=t0, concentric_end_s=t1,
            mean_velocity_mps=rom / (t1 - t0), peak_velocity_mps=float(vz[i0:i1].max()), rom_m=rom,
            bar_drift_m=float(np.max(np.abs(x - x[0]))),  # furthest from where the pull began
            fault=r["fault"], side_fault=r.get("side_fault"),
            bar_tilt_deg=float(np.rad2deg(np.abs(ch["bar_tilt"][i0:i1]).max())),
        )
        if cfg.lumbar_sensors >= 1:
            rep["peak_trunk_inclination_deg"] = float(trunk[i0:i1].max())
            rep["hip_rise_deg"] = float(pelvis[i0:i1][early].max() - pelvis[i0])  # the pelvis tips first
            rep["lockout_lean_back_deg"] = float(-trunk[i1:j + 1].min())
        if cfg.lumbar_sensors >= 2:
            for key, chan in (("peak_side_bend_deg", "lat"), ("peak_twist_deg", "twist")):
                v = np.rad2deg(sm[chan][i0:i1])
                rep[key] = float(v[np.argmax(np.abs(v))])  # from neutral standing, to the right positive
            rep["peak_lumbar_flexion_deg"] = float(flex[i0:i1].max())
            rep["lockout_lumbar_extension_deg"] = float(-flex[i1:j + 1].min())
        reps.append(rep)
    for s in {r["set"] for r in reps}:
        best = 0.0  # velocity loss against the fastest rep so far (docs/methods.md)
        for r in (r for r in reps if r["set"] == s):
            best = max(best, r["mean_velocity_mps"])
            r["velocity_loss_pct"] = 100.0 * (best - r["mean_velocity_mps"]) / best
    for r in reps:
        r["flags"] = _true_flags(cfg, r["fault"], r["velocity_loss_pct"], thresholds.velocity_loss.threshold_pct)
        sf = r["side_fault"]
        if sf and cfg.lumbar_sensors >= _FAULT_NEEDS[sf]:
            r["flags"] = sorted(r["flags"] + [sf])
    return reps


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

@dataclass
class SimulatedSession:
    config: SimConfig
    sensors: dict[str, dict[str, np.ndarray]]  # role -> {"time_s", "acc_g", "gyro_dps"}
    truth: list[dict]
    gaps: list[tuple[float, float]]
    bar_height_m: np.ndarray | None = None  # true bar height on a 200 Hz grid from t = 0 (diagnostics)

    @property
    def loads_kg(self) -> dict[str, float]:
        """Each set's load ("1" -> kg) where the config gives loads (set_pct_1rm), as a lifter logs them."""
        cfg = self.config
        if not cfg.set_pct_1rm:
            return {}
        sets = sorted({t["set"] for t in self.truth})
        return {str(k): round(set_pct(cfg, k) / 100.0 * cfg.one_rm_kg * 2) / 2 for k in sets}

    def warm_up_truth(self, heavy_pct: float = 80.0, window_s: float = 1800.0, min_lighter: int = 2) -> dict | None:
        """Whether the first heavy set was warmed up for, from the session's plan and the true set
        start times, by the issue's definition: heavy at 80 % of 1RM or more; fewer than two lighter
        sets begun in the 30 minutes before it is a missed warm-up. None without loads or a heavy set."""
        cfg = self.config
        if not cfg.set_pct_1rm:
            return None
        start: dict[int, float] = {}
        for t in self.truth:
            start[t["set"]] = min(start.get(t["set"], np.inf), t["concentric_start_s"])
        heavy = next((k for k in sorted(start) if set_pct(cfg, k) >= heavy_pct), None)
        if heavy is None:
            return None
        lighter = [k for k in start if start[k] < start[heavy] and start[heavy] - start[k] <= window_s
                   and set_pct(cfg, k) < set_pct(cfg, heavy)]
        return {"heavy_set": heavy, "lighter_sets_before": sorted(lighter), "warned": len(lighter) < min_lighter}


def simulate(cfg: SimConfig) -> SimulatedSession:
    from barback.analysis.config import load_thresholds

    rng = np.random.default_rng(cfg.seed)
    tl = _build_timeline(cfg, rng)
    ch = tl.arrays()
    if cfg.start_mid_set and tl.first_motion is not None:
        # the recording starts during set-up (bar on the floor or already on the back), with no
        # quiet standing, and stops soon after the set
        k0 = max(0, tl.first_motion - int(rng.uniform(0.3, 2.0) * FINE_HZ))
        k1 = min(len(ch["bar_z"]), (tl.set_end or len(ch["bar_z"])) + int(rng.uniform(1.0, 3.0) * FINE_HZ))
        ch = {k: v[k0:k1] for k, v in ch.items()}
        tl.reps = [dict(r, i0=r["i0"] - k0, i1=r["i1"] - k0) for r in tl.reps if r["i0"] >= k0 and r["i1"] <= k1]
    n = len(ch["bar_z"])
    t_fine = np.arange(n) / FINE_HZ
    t_end = t_fine[-1]
    sensors: dict[str, dict[str, np.ndarray]] = {}

    # bar: sensor clipped on the shaft, 3 cm off the bar axis, any mounting rotation
    bar_rot = _rot_z(ch["bar_yaw"]) * _rot_x(ch["bar_tilt"]) * _rot_y(ch["bar_roll"])
    mount_b = Rotation.random(random_state=rng.integers(1 << 31))
    lever = np.array([0.0, rng.uniform(0.1, 0.3), 0.03])
    pos_bar = np.column_stack([ch["bar_x"], ch["bar_y"], ch["bar_z"]]) + bar_rot.apply(lever)
    roles = [("bar", pos_bar, bar_rot * mount_b)]

    sm, (p_s, r_s), (p_u, r_u) = _body_kinematics(ch)
    if cfg.lumbar_sensors >= 1:
        roles.append(("lumbar_upper", p_u, r_u * Rotation.random(random_state=rng.integers(1 << 31))))
    if cfg.lumbar_sensors >= 2:
        roles.append(("lumbar_lower", p_s, r_s * Rotation.random(random_state=rng.integers(1 << 31))))

    truth = _truth(cfg, tl, ch, sm, load_thresholds())
    busy = [(r["concentric_start_s"] - 1.0, r["concentric_end_s"] + 1.0) for r in truth]
    gaps: list[tuple[float, float]] = []
    if cfg.link is not None:  # losses strike anywhere, concentric phases included
        for role, pos, rot in roles:
            f_sf, w_sf = _imu_ideal(pos, rot)
            losses = _loss_intervals(rng, cfg.link, t_end)
            t, acc_g, gyro_dps = _commodity_rows(rng, t_fine, f_sf, w_sf, cfg.link, cfg.noise, t_end, losses)
            sensors[role] = {"time_s": t, "acc_g": acc_g, "gyro_dps": gyro_dps}
            if role == "bar":
                gaps = losses
        for r in truth:
            r["gap_in_concentric_s"] = float(sum(max(0.0, min(g1, r["concentric_end_s"]) - max(g0, r["concentric_start_s"]))
                                                 for g0, g1 in gaps))
        return SimulatedSession(cfg, sensors, truth, gaps, ch["bar_z"][::5].copy())
    while len(gaps) < cfg.gaps:
        g0 = rng.uniform(cfg.lead_in_s + 2, t_end - 2)
        g1 = g0 + rng.uniform(0.1, 0.7)
        if not any(g0 < b1 and g1 > b0 for b0, b1 in busy):
            gaps.append((g0, g1))

    for role, pos, rot in roles:
        f_sf, w_sf = _imu_ideal(pos, rot)
        t, acc_g, gyro_dps = _sample(rng, t_fine, f_sf, w_sf, cfg.fs_hz, cfg.noise, t_end)
        if cfg.timestamps == "arrival":
            t = _arrival_times(rng, t, cfg.batch_size)
        keep = np.ones(len(t), bool)
        for g0, g1 in gaps:
            keep &= ~((t >= g0) & (t < g1))
        idx = np.flatnonzero(keep)
        if cfg.duplicate_rate > 0:
            dup = idx[rng.uniform(size=len(idx)) < cfg.duplicate_rate]
            idx = np.sort(np.concatenate([idx, dup]))
        sensors[role] = {"time_s": t[idx], "acc_g": acc_g[idx], "gyro_dps": gyro_dps[idx]}
    return SimulatedSession(cfg, sensors, truth, gaps, ch["bar_z"][::5].copy())


def write_session(sim: SimulatedSession, out_dir: str | Path, extra_meta: dict | None = None) -> Path:
    """Write a generic IMU CSV session folder plus `truth.json` (ground truth). `extra_meta` goes
    into session.json (athlete, date, loads_kg, ...)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for role, d in sim.sensors.items():
        name = f"{role}.csv"
        data = np.column_stack([d["time_s"], d["acc_g"], d["gyro_dps"]])
        header = "time_s,acc_x_g,acc_y_g,acc_z_g,gyro_x_dps,gyro_y_dps,gyro_z_dps"
        np.savetxt(out / name, data, delimiter=",", header=header, comments="",
                   fmt=["%.6f", "%.6f", "%.6f", "%.6f", "%.4f", "%.4f", "%.4f"])
        files[role] = name
    meta = {"exercise": sim.config.exercise, "sensors": files,
            "notes": f"simulated by barback (seed {sim.config.seed})",
            **({"loads_kg": sim.loads_kg} if sim.loads_kg else {}), **(extra_meta or {})}
    (out / "session.json").write_text(json.dumps(meta, indent=2) + "\n")
    cfg = asdict(sim.config)
    (out / "truth.json").write_text(json.dumps({"config": cfg, "reps": sim.truth,
                                                "gaps": sim.gaps}, indent=2) + "\n")
    return out


_COMMODITY = dict(link=CommodityLink(), sets=1, reps_per_set=10, start_mid_set=True, lumbar_sensors=0,
                  mean_velocity_first_mps=(0.30, 0.80), velocity_loss_final=(0.05, 0.35), lockout_sway_m=0.004,
                  gaps=0, duplicate_rate=0.0)


def scenario(name: str, seed: int = 0, **overrides) -> SimConfig:
    """Named benchmark scenarios."""
    base = SimConfig(seed=seed)
    table: dict[str, dict] = {
        "deadlift_100hz": dict(),
        "deadlift_52hz": dict(fs_hz=52.0),
        "deadlift_200hz": dict(fs_hz=200.0),
        "deadlift_one_lumbar": dict(lumbar_sensors=1),
        "deadlift_touch_and_go": dict(touch_and_go=True, reps_per_set=8),
        "deadlift_grinding": dict(reps_per_set=10, mean_velocity_first_mps=(0.30, 0.40),
                                  velocity_loss_final=(0.35, 0.55)),
        "deadlift_ble_arrival": dict(timestamps="arrival", batch_size=5),
        "romanian_deadlift": dict(exercise="romanian_deadlift"),
        "squat": dict(exercise="squat"),
        "bench_press": dict(exercise="bench_press", lumbar_sensors=0, faults=("bar_drift",)),
        "deadlift_form_faults": dict(fault_rate=0.6, reps_per_set=6),
        # one-sided loading: every pull a little asymmetric, 40 % with a side bend, a twist or a
        # tilted bar (issue 15)
        "deadlift_one_sided": dict(natural_asymmetry_deg=3.0, side_fault_rate=0.4, reps_per_set=6),
        # issue 15 item 5: a sumo pull (shorter, trunk upright) and a hexagonal bar (faster at a load)
        "sumo_deadlift": dict(exercise="sumo_deadlift"),
        "trap_bar_deadlift": dict(exercise="trap_bar_deadlift", mean_velocity_first_mps=(0.50, 0.80)),
        # a poor sensor: 3x the noise, 2.5x the accelerometer bias, 3x the gyro bias, 2x scale errors
        "deadlift_noisy_imu": dict(noise=NoiseModel(acc_noise_ug_rthz=600, gyro_noise_mdps_rthz=30, acc_bias_g=0.05,
                                                    gyro_bias_dps=3.0, acc_scale_err=0.02, gyro_scale_err=0.02,
                                                    cross_axis=0.01, jitter_s=0.001)),
        # commodity BLE bar sensor (issue table of 33 real sets): one set of 10, recording starts
        # mid-activity, no quiet standing, short or no pauses, repeats, bursts, loss, gyro offset
        "commodity_deadlift": dict(_COMMODITY, rep_pause_s=(0.1, 0.6)),
        "commodity_deadlift_tng": dict(_COMMODITY, touch_and_go=True, rep_pause_s=(0.05, 0.4)),
        # slow RDLs: peaks of 0.13 g and rep periods up to 6.3 s in the table
        "commodity_rdl": dict(_COMMODITY, exercise="romanian_deadlift", rep_pause_s=(0.2, 2.0),
                              mean_velocity_first_mps=(0.25, 0.60)),
        "commodity_squat": dict(_COMMODITY, exercise="squat", rep_pause_s=(0.05, 0.6)),
        "commodity_deadlift_lumbar": dict(_COMMODITY, lumbar_sensors=2, rep_pause_s=(0.1, 0.6)),
    }
    if name not in table:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(table)}")
    return replace(base, **{**table[name], **overrides})


SCENARIOS = ("deadlift_100hz", "deadlift_52hz", "deadlift_200hz", "deadlift_one_lumbar",
             "deadlift_touch_and_go", "deadlift_grinding", "deadlift_ble_arrival",
             "romanian_deadlift", "squat", "bench_press", "deadlift_form_faults", "deadlift_noisy_imu",
             "deadlift_one_sided", "sumo_deadlift", "trap_bar_deadlift")
COMMODITY_SCENARIOS = ("commodity_deadlift", "commodity_deadlift_tng", "commodity_rdl", "commodity_squat",
                       "commodity_deadlift_lumbar")


def write_recording(sim: SimulatedSession, out_dir: str | Path, batch: int = 3, device: str = "witmotion") -> Path:
    """Write the session as a native recording, as live capture would have stored it. WitMotion
    sensors (the default): one 20-byte `55 61` notification per sample, stamped on arrival in
    connection-event batches (a commodity link's rows carry their arrival stamps already, repeats
    and losses included). `device="movesense"`: IMU6 notifications of four samples each, stamped
    by the sensor's own millisecond clock (which starts anywhere), the host's arrival a few tens
    of milliseconds after. Ground truth goes to `truth.json` beside it."""
    from barback.sensor.recording import Record, RecordingMeta, RecordingWriter, RecordType

    out = Path(out_dir)
    (out / "stream.bbr").unlink(missing_ok=True)  # a new recording, not an append
    rng = np.random.default_rng(sim.config.seed + 7)
    if device == "movesense":
        infos, recs = _movesense_records(sim, rng)
    elif device == "witmotion":
        infos, recs = _witmotion_records(sim, rng, batch)
    else:
        raise ValueError(f"write_recording writes witmotion or movesense sensors, not {device!r}")
    recs.sort(key=lambda r: r[0])
    meta = RecordingMeta(exercise=sim.config.exercise, sensors=infos, started_unix_ns=1_700_000_000_000_000_000,
                         notes=f"simulated by barback (seed {sim.config.seed})")
    with RecordingWriter(out, meta, flush_interval_s=1e9) as w:
        for t_ns, sid, payload in recs:
            w.append(Record(RecordType.NOTIFICATION, sid, 0, t_ns, payload))
    (out / "truth.json").write_text(json.dumps({"config": asdict(sim.config), "reps": sim.truth,
                                                "gaps": sim.gaps}, indent=2) + "\n")
    return out


MOVESENSE_SAMPLES_PER_PACKET = 4


def _movesense_records(sim: SimulatedSession, rng: np.random.Generator):
    from barback.sensor.decoders import movesense
    from barback.sensor.recording import SensorInfo

    infos, recs = [], []
    k = MOVESENSE_SAMPLES_PER_PACKET
    for sid, (role, d) in enumerate(sim.sensors.items()):
        infos.append(SensorInfo(id=sid, role=role, kind=movesense.KIND, address=f"SIM:00:00:00:01:{sid:02X}",
                                name=f"Movesense sim {role}", rate_hz=sim.config.fs_hz,
                                channels={movesense.DATA_UUID: 0, movesense.COMMAND_UUID: 1}))
        t, first = np.unique(np.asarray(d["time_s"], float), return_index=True)  # one sample, one stamp
        acc, gyro = np.asarray(d["acc_g"])[first] * G0_MPS2, np.asarray(d["gyro_dps"])[first]
        clock0_ms = int(rng.integers(0, 2**31))  # the sensor's clock runs from its own power-on
        # a notification holds consecutive samples only: a gap in the data ends one
        breaks = np.flatnonzero(np.diff(t) > 1.5 / sim.config.fs_hz) + 1
        arrival = -np.inf
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(t)]):
            for j in range(a, b, k):
                e = min(j + k, b)
                ts_ms = clock0_ms + int(round(t[j] * 1000.0))
                # notifications arrive in the order they were sent
                arrival = max(t[e - 1] + float(rng.uniform(0.01, 0.04)), arrival + 0.001)
                recs.append((int(round(arrival * 1e9)), sid, movesense.encode_imu6(99, ts_ms, acc[j:e], gyro[j:e])))
    return infos, recs


def _witmotion_records(sim: SimulatedSession, rng: np.random.Generator, batch: int):
    from barback.sensor.decoders import witmotion
    from barback.sensor.recording import SensorInfo

    infos, recs = [], []
    for sid, (role, d) in enumerate(sim.sensors.items()):
        infos.append(SensorInfo(id=sid, role=role, kind=witmotion.KIND, address=f"SIM:00:00:00:00:{sid:02X}",
                                name=f"WT901BLE sim {role}", rate_hz=sim.config.fs_hz,
                                channels={witmotion.NOTIFY_UUID: 0, witmotion.WRITE_UUID: 1}))
        if sim.config.link is not None:  # a commodity link's rows are already stamped on arrival
            arrival = np.asarray(d["time_s"], float)
        else:
            t_u = np.unique(d["time_s"])  # a duplicated sample is a notification delivered twice
            arrival = _arrival_times(rng, t_u, batch)[np.searchsorted(t_u, d["time_s"])]
        for t, a, g in zip(arrival, d["acc_g"], d["gyro_dps"]):
            recs.append((int(round(t * 1e9)), sid, witmotion.encode_packet(a, g)))
    return infos, recs


def _lumbar_routine_sensors(tl: _Timeline, rng: np.random.Generator, cfg: SimConfig, mount_seeds: tuple[int, int]):
    """The two lumbar sensors of a guided routine's timeline (mounted anyhow): the smoothed body
    channels and the sensors' readings."""
    ch = tl.arrays()
    t_fine = np.arange(len(ch["bar_z"])) / FINE_HZ
    sm, (p_s, r_s), (p_u, r_u) = _body_kinematics(ch)
    sensors = {}
    for role, pos, rot in (("lumbar_upper", p_u, r_u * Rotation.random(random_state=mount_seeds[0])),
                           ("lumbar_lower", p_s, r_s * Rotation.random(random_state=mount_seeds[1]))):
        f_sf, w_sf = _imu_ideal(pos, rot)
        t, acc_g, gyro_dps = _sample(rng, t_fine, f_sf, w_sf, cfg.fs_hz, cfg.noise, t_fine[-1])
        sensors[role] = {"time_s": t, "acc_g": acc_g, "gyro_dps": gyro_dps}
    return sm, sensors


def simulate_calibration(max_flexion_deg: float = 55.0, pelvis_deg: float = 60.0, fs_hz: float = 100.0,
                         seed: int = 0) -> SimulatedSession:
    """The calibration routine: stand tall, bend forward as far as comfortable and hold, stand
    tall. Two lumbar sensors (and a bar sensor lying still)."""
    cfg = SimConfig(sets=0, fs_hz=fs_hz, lumbar_sensors=2, gaps=0, duplicate_rate=0.0, seed=seed)
    rng = np.random.default_rng(seed)
    tl = _Timeline(rng)
    tl.state["hip_z"], tl.state["bar_z"] = 0.95, 0.225
    tl.hold(5.0, sway=0.5)
    tl.move(3.0, {"pelvis": np.deg2rad(pelvis_deg), "flex": np.deg2rad(max_flexion_deg), "hip_z": 0.9})
    tl.hold(4.0, sway=0.2)
    tl.move(3.0, {"pelvis": 0.0, "flex": 0.0, "hip_z": 0.95})
    tl.hold(4.0, sway=0.5)
    sm, sensors = _lumbar_routine_sensors(tl, rng, cfg, (seed + 1, seed + 2))
    truth = [{"max_flexion_deg": float(np.rad2deg(sm["flex"].max()))}]
    return SimulatedSession(cfg, sensors, truth, [])


def simulate_hinge_drill(good: bool = True, hinges: int = 5, fs_hz: float = 100.0, seed: int = 0) -> SimulatedSession:
    """The hip-hinge screen's drill (issue 15): stand tall, then slow hinges with a dowel along
    the back, two lumbar sensors. A good hinge tips the pelvis 45-60° with 4-10° of lumbar
    flexion; a poor one tips the pelvis 15-25° and rounds the back 28-40°. Truth per hinge: the
    pelvis's and the spine's angles at the bottom, from the simulator's channels."""
    cfg = SimConfig(sets=0, fs_hz=fs_hz, lumbar_sensors=2, gaps=0, duplicate_rate=0.0, seed=seed)
    rng = np.random.default_rng([seed, 3])
    tl = _Timeline(rng)
    tl.state["hip_z"], tl.state["bar_z"] = 0.95, 0.225
    tl.hold(5.0, sway=0.5)
    truth = []
    for _ in range(hinges):
        pelvis, flex = (rng.uniform(45, 60), rng.uniform(4, 10)) if good else (rng.uniform(15, 25), rng.uniform(28, 40))
        tl.move(rng.uniform(1.8, 2.6), {"pelvis": np.deg2rad(pelvis), "flex": np.deg2rad(flex), "hip_z": 0.88})
        t_bottom = tl.t_now
        tl.hold(rng.uniform(0.4, 0.8), sway=0.2)
        tl.move(rng.uniform(1.8, 2.6), {"pelvis": 0.0, "flex": 0.0, "hip_z": 0.95})
        tl.hold(rng.uniform(0.8, 1.5), sway=0.5)
        truth.append({"bottom_s": t_bottom, "pelvis_deg": pelvis, "lumbar_flexion_deg": flex,
                      "trunk_deg": pelvis + flex, "hip_share": pelvis / (pelvis + flex)})
    tl.hold(3.0, sway=0.5)
    _, sensors = _lumbar_routine_sensors(tl, rng, cfg, (seed + 11, seed + 12))
    return SimulatedSession(cfg, sensors, truth, [])
