"""Write results and decoded samples to files (the I/O edge of the analysis)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from barback.analysis.errors import InputError
from barback.analysis.imu import Session
from barback.analysis.results import SessionResult
from barback.analysis.units import G0_MPS2

REP_COLUMNS = (
    "set", "rep", "concentric_start_s", "concentric_end_s", "mean_velocity_mps", "peak_velocity_mps",
    "rom_m", "time_to_peak_velocity_s", "velocity_loss_pct", "bar_drift_m", "peak_lumbar_flexion_deg",
    "peak_lumbar_flexion_pct_max",
    "lumbar_flexion_rise_deg", "peak_trunk_inclination_deg", "hip_rise_deg", "lockout_lean_back_deg",
    "lockout_lumbar_extension_deg", "peak_side_bend_deg", "peak_twist_deg", "bar_tilt_deg",
    "setup_start_s", "eccentric_start_s", "eccentric_end_s", "lockout_end_s",
)


def open_output(path: str | Path, newline: str | None = None, binary: bool = False):
    """Open a file for writing (text, or bytes with `binary`), never through a symbolic link: an
    output must not overwrite whatever a link planted in the output folder points at. Refused in
    one line."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        if Path(path).is_symlink():
            raise InputError(path, "is a symbolic link; outputs are never written through one") from None
        raise
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline=newline)


def write_json(result: SessionResult, path: str | Path) -> None:
    with open_output(path) as fh:
        fh.write(json.dumps(result.to_dict(), indent=2) + "\n")


def write_reps_csv(result: SessionResult, path: str | Path) -> None:
    with open_output(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*REP_COLUMNS, "flags", "quality"])
        for r in result.reps:
            row = []
            for c in REP_COLUMNS:
                v = getattr(r, c)
                row.append("" if v is None or (isinstance(v, float) and not np.isfinite(v)) else
                           (f"{v:.5g}" if isinstance(v, float) else v))
            w.writerow([*row, ";".join(r.flag_names), ";".join(r.quality)])


def write_session_csv(session: Session, folder: str | Path) -> Path:
    """Decoded samples as a generic IMU CSV session (the format `barback analyze` reads)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for role, s in session.streams.items():
        name = f"{role.value}.csv"
        data = np.column_stack([s.t_s, s.acc_sf_mps2 / G0_MPS2, np.rad2deg(s.gyro_sf_rps)])
        with open_output(out / name) as fh:
            np.savetxt(fh, data, delimiter=",", comments="",
                       header="time_s,acc_x_g,acc_y_g,acc_z_g,gyro_x_dps,gyro_y_dps,gyro_z_dps",
                       fmt=["%.9f"] + ["%.10g"] * 6)
        files[role.value] = name
    meta = {"exercise": session.exercise, "sensors": files}
    if session.meta.get("athlete"):
        meta["athlete"] = session.meta["athlete"]
    with open_output(out / "session.json") as fh:
        fh.write(json.dumps(meta, indent=2) + "\n")
    return out
