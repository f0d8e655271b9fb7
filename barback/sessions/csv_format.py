"""Read a generic IMU CSV session: a folder with `session.json` and one CSV per sensor.

Every problem that stops the analysis raises `InputError(path, problem)`; every problem we can
recover from is fixed and reported as a warning string (never silently).
"""

from __future__ import annotations

import csv
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from barback.analysis.errors import InputError
from barback.analysis.imu import EXERCISES, ImuStream, Role, Session, parse_loads_kg
from barback.analysis.timebase import clean_samples
from barback.analysis.units import G0_MPS2

_AXES = ("x", "y", "z")
_ACC_UNITS = {"g": G0_MPS2, "mps2": 1.0}
_GYRO_UNITS = {"dps": np.pi / 180.0, "rads": 1.0}
_TIME_UNITS = {"time_s": 1.0, "time_ms": 1e-3}


def _pick_unit(columns: list[str], stem: str, units: dict[str, float], path: Path) -> tuple[list[str], str]:
    for unit in units:
        cols = [f"{stem}_{ax}_{unit}" for ax in _AXES]
        if all(c in columns for c in cols):
            return cols, unit
    want = " or ".join(f"{stem}_x_{u}" for u in units)
    raise InputError(path, f"missing columns: need {stem}_x/y/z with units ({want}); header has {', '.join(columns)}")


def _sniff(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, expected a CSV file")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise InputError(path, "file is empty")
    if b"\x00" in head:
        raise InputError(path, "binary data, expected a CSV text file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the buffer end is fine
            raise InputError(path, "not UTF-8 text, expected a CSV file") from None


def read_imu_csv(path: str | Path) -> tuple[ImuStream, list[str]]:
    """Read one sensor CSV into SI units. Returns the cleaned stream and warnings."""
    path = Path(path)
    _sniff(path)
    warnings: list[str] = []
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
        second = fh.readline()
    sep = ";" if first.count(";") > first.count(",") else ","  # some exports use semicolons
    # ... and those (a spreadsheet in a decimal-comma locale) write 0,98 for 0.98
    decimal = "," if sep == ";" and re.search(r"\d,\d", second) else "."
    if decimal == ",":
        warnings.append(f"{path.name}: numbers with decimal commas (0,98), read as 0.98")
    try:
        header = [c.strip().lstrip("\ufeff") for c in pd.read_csv(path, nrows=0, sep=sep, encoding="utf-8-sig").columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    tcol = next((c for c in _TIME_UNITS if c in header), None)
    if tcol is None:
        raise InputError(path, f"missing time column (time_s or time_ms); header has {', '.join(header)}")
    acc_cols, acc_unit = _pick_unit(header, "acc", _ACC_UNITS, path)
    gyro_cols, gyro_unit = _pick_unit(header, "gyro", _GYRO_UNITS, path)
    cols = [tcol, *acc_cols, *gyro_cols]
    try:
        # read every column as it comes (the C parser's fastest path, half the time of a column
        # filter with forced types), then insist that the wanted ones parsed as numbers
        # quotes are not CSV syntax here: one stray " must not swallow the rows up to the next one
        df = pd.read_csv(path, engine="c", sep=sep, decimal=decimal, encoding="utf-8-sig", quoting=csv.QUOTE_NONE)
        df.columns = [c.strip().lstrip("\ufeff") for c in df.columns]
        df = df[cols]
        if not all(pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt) for dt in df.dtypes):
            raise ValueError("a wanted column is not numeric")
    except (ValueError, KeyError, pd.errors.ParserError):
        # junk rows: read as text, coerce, and drop what is not a number
        df = pd.read_csv(path, usecols=lambda c: c.strip().lstrip("\ufeff") in cols, dtype=str, engine="python",
                         on_bad_lines="skip", sep=sep, encoding="utf-8-sig", quoting=csv.QUOTE_NONE)
        if decimal == ",":
            df = df.apply(lambda col: col.str.replace(",", ".", regex=False))
        df = df.apply(pd.to_numeric, errors="coerce")
        df.columns = [c.strip().lstrip("\ufeff") for c in df.columns]
        df = df[cols]
    arr = df.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        warnings.append(f"{path.name}: skipped {int(bad.sum())} unreadable or incomplete row(s)")
        arr = arr[~bad]
    if len(arr) < 10:
        raise InputError(path, f"only {len(arr)} valid sample row(s)")
    t = _check_time_unit(path, arr[:, 0] * _TIME_UNITS[tcol], tcol, warnings)
    acc = arr[:, 1:4] * _ACC_UNITS[acc_unit]
    gyro = arr[:, 4:7] * _GYRO_UNITS[gyro_unit]
    # a value no IMU measures (a corrupted field, 1e200) would poison every filter it passes
    with np.errstate(over="ignore", invalid="ignore"):
        wild = ~((np.abs(acc) <= MAX_ACC_G * G0_MPS2).all(axis=1) & (np.abs(gyro) <= np.deg2rad(MAX_GYRO_DPS)).all(axis=1))
    if wild.any() and wild.mean() <= 0.5:  # a few corrupted rows; a whole file off is a unit problem
        warnings.append(f"{path.name}: skipped {int(wild.sum())} row(s) with values no IMU measures "
                        f"(beyond {MAX_ACC_G:g} g or {MAX_GYRO_DPS:g} °/s)")
        t, acc, gyro = t[~wild], acc[~wild], gyro[~wild]
        if len(t) < 10:
            raise InputError(path, f"only {len(t)} valid sample row(s)")

    with np.errstate(over="ignore", invalid="ignore"):
        acc, gyro = _check_units(path, acc, gyro, acc_unit, gyro_unit, warnings, t)
    stream, rep = clean_samples(t, acc, gyro)
    if rep.n_out_of_order:
        warnings.append(f"{path.name}: {rep.n_out_of_order} out-of-order timestamp(s); rows re-sorted")
    if rep.n_duplicates:
        warnings.append(f"{path.name}: dropped {rep.n_duplicates} row(s) that repeat the previous sample "
                        "(re-sent held samples or duplicated rows)")
    if rep.n_stray:
        warnings.append(f"{path.name}: dropped {rep.n_stray} row(s) stamped far from all the others (at "
                        f"{', '.join(f'{s:.0f}' for s in rep.stray_s[:3])} s): a clock glitch, not data")
    if rep.n_stale:
        warnings.append(f"{path.name}: {rep.n_stale} row(s) repeat the accelerometer or gyroscope value while "
                        "the other changed (read at different instants); the stale values were interpolated")
    if len(stream) < 10:
        raise InputError(path, "fewer than 10 distinct samples after removing duplicates")
    return stream, warnings


def _inside(meta_path: Path, folder: Path, fname, role_name: str) -> Path:
    """A session reads only regular files inside its own folder: not a path out of it (../, an
    absolute path, a symlink pointing away), and not a device or a pipe (that never ends)."""
    if not isinstance(fname, str) or not fname:
        raise InputError(meta_path, f"sensors.{role_name} must name a CSV file in the session folder")
    try:
        p = (folder / fname).resolve()
    except (RuntimeError, OSError):  # a link to itself, or round a loop of links
        raise InputError(meta_path, f"sensors.{role_name}: {fname} is a symbolic link that loops") from None
    if not p.is_relative_to(folder):
        raise InputError(meta_path, f"sensors.{role_name} names a file outside the session folder; "
                                    "a session reads only its own files")
    if not p.exists():
        raise InputError(p, "file not found")
    if not p.is_file():
        raise InputError(meta_path, f"sensors.{role_name}: {fname} is not a regular file")
    return p


MAX_ACC_G = 64.0  # consumer IMUs measure up to +-16 g (a few +-32 g)
MAX_GYRO_DPS = 10_000.0  # ... and up to +-2000 deg/s (a few +-4000)


def _check_time_unit(path: Path, t: np.ndarray, tcol: str, warnings: list[str]) -> np.ndarray:
    """Catch times written in another unit than the header says: an IMU samples at 5 to 2000 Hz,
    so a median interval of seconds is milliseconds under a time_s header (and the other way)."""
    dt = np.diff(t)
    if np.any(dt < 0):  # rows out of order: the intervals of the sorted stamps
        dt = np.diff(np.sort(t))
    dt = dt[dt > 0]
    if len(dt) < 10:
        return t
    step = float(np.median(dt))
    for factor, unit in ((1e-3, "milliseconds"), (1e3, "seconds")):
        if not (1 / 2000 <= step <= 1 / 5) and 1 / 2000 <= step * factor <= 1 / 5:
            warnings.append(f"{path.name}: times look like {unit} under a {tcol} header (median step "
                            f"{step:g} s, {1 / step:.3g} Hz); converted")
            return t * factor
    return t


def gyro_scale_from_tilt(t_s: np.ndarray, acc: np.ndarray, gyro_rps: np.ndarray) -> float | None:
    """How the gyroscope's rates compare with how gravity turns in the sensor frame: 1 when the
    rates are in rad/s, 1/57.3 when they are deg/s read as rad/s. Gravity's direction u, from the
    low-passed accelerometer, turns as du/dt = u x w; the least-squares factor s in
    du/dt = s (u x w) over samples that turn is the answer. None when the sensor barely turned."""
    if len(t_s) < 50:
        return None
    t, a, w = t_s, acc, gyro_rps
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, a, w = t[order], a[order], w[order]
    step = max(1, len(t) // 50_000)  # a sum over 50,000 samples judges a unit as well as over all
    t, a, w = t[::step], a[::step], w[::step]
    dt = float((t[-1] - t[0]) / (len(t) - 1))
    if not dt > 0:
        return None
    k = max(3, int(round(0.1 / dt)))  # about 0.1 s of smoothing removes most linear acceleration
    kernel = np.ones(k) / k
    a = np.column_stack([np.convolve(a[:, i], kernel, mode="same") for i in range(3)])
    w = np.column_stack([np.convolve(w[:, i], kernel, mode="same") for i in range(3)])
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-9)
    du = np.gradient(u, dt, axis=0)  # on the mean interval: repeated stamps must not divide by zero
    uw = np.cross(u, w)
    ok = (np.abs(np.linalg.norm(a, axis=1) - G0_MPS2) < 0.15 * G0_MPS2) & np.isfinite(du).all(axis=1)
    ok[:k] = ok[-k:] = False
    den = float(np.sum(uw[ok] ** 2))
    # enough turning to judge: a summed turn of a few radians at rates the header's unit allows
    if ok.sum() < 50 or den * dt < 1.0:
        return None
    return float(np.sum(du[ok] * uw[ok]) / den)


def _check_units(path: Path, acc, gyro, acc_unit: str, gyro_unit: str, warnings: list[str], t_s=None):
    """Catch accelerations or rates written in other units than the header says."""
    mag = np.median(np.linalg.norm(acc, axis=1))
    if acc_unit == "g" and 0.6 * G0_MPS2**2 < mag < 1.6 * G0_MPS2**2:
        warnings.append(f"{path.name}: acceleration looks like m/s² under a _g header "
                        f"(median |a| = {mag / G0_MPS2:.2f} 'g'); converted from m/s²")
        acc = acc / G0_MPS2
    elif acc_unit == "mps2" and 0.6 < mag < 1.6:
        warnings.append(f"{path.name}: acceleration looks like g under a _mps2 header "
                        f"(median |a| = {mag:.2f} 'm/s²'); converted from g")
        acc = acc * G0_MPS2
    elif not (0.6 * G0_MPS2 < mag < 1.6 * G0_MPS2):
        raise InputError(path, f"acceleration magnitude {mag:.3g} m/s² at median is not gravity; "
                               "check the units in the header")
    peak = np.quantile(np.abs(gyro), 0.999)
    if gyro_unit == "rads" and peak > 40.0:  # > 2300 deg/s: these are deg/s
        warnings.append(f"{path.name}: angular rate looks like deg/s under a _rads header; converted")
        return acc, np.deg2rad(gyro)
    # slower turns do not show it in the numbers alone: compare them with how gravity turned
    s = gyro_scale_from_tilt(t_s, acc, gyro) if t_s is not None else None
    # (the factor is 57.3 between the units; the estimate scatters 2-3x with linear acceleration)
    if s is not None and gyro_unit == "rads" and 0.2 < s * 180 / np.pi < 6.0:
        warnings.append(f"{path.name}: angular rate looks like deg/s under a _rads header (gravity turned "
                        f"{1 / s:.0f}x slower than the rates say); converted")
        gyro = np.deg2rad(gyro)
    elif s is not None and gyro_unit == "dps" and 0.2 < s * np.pi / 180 < 6.0:
        warnings.append(f"{path.name}: angular rate looks like rad/s under a _dps header (gravity turned "
                        f"{s:.0f}x faster than the rates say); converted")
        gyro = np.rad2deg(gyro)
    return acc, gyro


def load_session(path: str | Path) -> Session:
    """Load a session folder (or its `session.json`)."""
    path = Path(path)
    meta_path = path / "session.json" if path.is_dir() else path
    if not meta_path.exists():
        raise InputError(meta_path, "session.json not found (a session is a folder with session.json and one CSV per sensor)")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(meta_path, f"invalid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(meta_path, "expected a JSON object")
    exercise = meta.get("exercise")
    if exercise not in EXERCISES:
        raise InputError(meta_path, f"exercise must be one of {', '.join(EXERCISES)}, got {exercise!r}")
    sensors = meta.get("sensors")
    if not isinstance(sensors, dict) or not sensors:
        raise InputError(meta_path, "'sensors' must map roles (bar, lumbar_upper, lumbar_lower) to CSV files")
    try:
        parse_loads_kg(meta.get("loads_kg"))
    except ValueError as exc:
        raise InputError(meta_path, str(exc)) from None
    roles: dict[Role, Path] = {}
    folder = meta_path.parent.resolve()
    for role_name, fname in sensors.items():
        try:
            role = Role(role_name)
        except ValueError:
            raise InputError(meta_path, f"unknown sensor role {role_name!r} (use bar, lumbar_upper, lumbar_lower)") from None
        roles[role] = _inside(meta_path, folder, fname, role_name)
    same = [r.value for r in roles if list(roles.values()).count(roles[r]) > 1]
    if same:
        raise InputError(meta_path, f"sensors {', '.join(same)} name the same file: each sensor needs its own")
    # the CSV parser releases the GIL: read the files side by side
    with ThreadPoolExecutor(max_workers=min(len(roles), os.cpu_count() or 1)) as pool:
        loaded = list(pool.map(read_imu_csv, roles.values()))
    streams: dict[Role, ImuStream] = {}
    warnings: list[str] = []
    for role, (stream, w) in zip(roles, loaded):
        streams[role] = stream
        warnings.extend(w)
    return Session(exercise=exercise, streams=streams, source=str(meta_path.parent), meta=meta,
                   warnings=tuple(warnings))
