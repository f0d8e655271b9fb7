"""Bad input: one clear error naming the file, or a recovery with a warning."""

import json

import numpy as np
import pytest

from barback.analysis.errors import InputError
from barback.sessions.csv_format import load_session, read_imu_csv

HEADER = "time_s,acc_x_g,acc_y_g,acc_z_g,gyro_x_dps,gyro_y_dps,gyro_z_dps\n"


def _csv(path, n=200, scale=1.0, header=HEADER):
    # a sensor at rest: the last digits change from sample to sample, as a real IMU's do
    rows = [f"{i / 100:.3f},{(0.01 + 1e-4 * (i % 5)) * scale:.4f},{0.02 * scale:.4f},{1.0 * scale:.4f},"
            f"{0.1 + 0.01 * (i % 7):.2f},0.2,0.3" for i in range(n)]
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def test_reads_units_from_header(tmp_path):
    s, w = read_imu_csv(_csv(tmp_path / "a.csv"))
    assert s.acc_sf_mps2[0, 2] == pytest.approx(9.80665)
    assert s.gyro_sf_rps[0, 0] == pytest.approx(np.deg2rad(0.1))
    assert s.t_s[1] == pytest.approx(0.01)
    hdr = "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyro_x_rads,gyro_y_rads,gyro_z_rads\n"
    s2, _ = read_imu_csv(_csv(tmp_path / "b.csv", scale=9.80665, header=hdr))
    assert s2.acc_sf_mps2[0, 2] == pytest.approx(9.80665, abs=1e-4)  # 4 decimals in the file
    assert s2.gyro_sf_rps[0, 0] == pytest.approx(0.1)
    assert w == []


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (b"time_s,acc_x_g,acc_y_g\n0,1,2\n", "missing columns"),
    (b"t,x\n1,2\n", "missing time column"),
])
def test_broken_files_name_the_file_and_the_problem(tmp_path, content, problem):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(InputError) as ei:
        read_imu_csv(p)
    assert "bad.csv" in str(ei.value) and problem in str(ei.value)
    assert "\n" not in str(ei.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_imu_csv(tmp_path / "nope.csv")


def test_junk_rows_and_truncated_last_line_are_recovered(tmp_path):
    p = _csv(tmp_path / "a.csv")
    text = p.read_text().splitlines()
    text.insert(50, "hello,world,this,is,junk,,")
    text.insert(80, "#### garbage line")
    text[-1] = text[-1][:8]  # cut mid-line
    p.write_text("\n".join(text))
    s, w = read_imu_csv(p)
    assert len(s) == 199
    assert any("skipped" in x for x in w)


def test_mps2_under_g_header_is_corrected_with_warning(tmp_path):
    s, w = read_imu_csv(_csv(tmp_path / "a.csv", scale=9.80665))
    assert s.acc_sf_mps2[0, 2] == pytest.approx(9.80665, rel=1e-4)
    assert any("m/s²" in x for x in w)


def test_nonsense_acceleration_is_refused(tmp_path):
    with pytest.raises(InputError, match="not gravity"):
        read_imu_csv(_csv(tmp_path / "a.csv", scale=100.0))


def test_session_json_problems(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    with pytest.raises(InputError, match="session.json not found"):
        load_session(d)
    (d / "session.json").write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        load_session(d)
    (d / "session.json").write_text(json.dumps({"exercise": "curl", "sensors": {"bar": "bar.csv"}}))
    with pytest.raises(InputError, match="exercise must be one of"):
        load_session(d)
    (d / "session.json").write_text(json.dumps({"exercise": "deadlift", "sensors": {"wrist": "bar.csv"}}))
    with pytest.raises(InputError, match="unknown sensor role"):
        load_session(d)
    (d / "session.json").write_text(json.dumps({"exercise": "deadlift", "sensors": {"bar": "bar.csv"}}))
    with pytest.raises(InputError, match="bar.csv: file not found"):
        load_session(d)


def test_bom_semicolons_crlf_extra_columns_and_milliseconds(tmp_path):
    rows = [f"{i * 10};{0.01 + 1e-4 * (i % 5):.4f};0.02;1.0;{0.1 + 0.01 * (i % 7):.2f};0.2;0.3;45.0" for i in range(200)]
    text = "\ufefftime_ms;acc_x_g;acc_y_g;acc_z_g;gyro_x_dps;gyro_y_dps;gyro_z_dps;mag_x_uT\r\n" + "\r\n".join(rows) + "\r\n"
    p = tmp_path / "a.csv"
    p.write_bytes(text.encode("utf-8"))
    s, w = read_imu_csv(p)
    assert len(s) == 200 and s.t_s[1] == pytest.approx(0.01)
    assert s.acc_sf_mps2[0, 2] == pytest.approx(9.80665) and w == []


def test_held_samples_resent_with_new_stamps_are_collapsed(tmp_path):
    """A sender that re-sends the held sample gives rows that repeat all six values under new
    stamps: they are one sample, not several (counted, with a warning). A row whose accelerometer
    repeats while the gyroscope changed has a stale accelerometer value: interpolated."""
    lines, truth_t = [], []
    for i in range(100):
        t = i * 0.02
        acc = f"{0.01 * np.sin(i):.5f},0.02,{1.0 + 0.01 * np.cos(i):.5f}"
        gyro = f"{5 * np.sin(0.3 * i):.3f},0.2,0.3"
        lines.append(f"{t:.4f},{acc},{gyro}")
        truth_t.append(t)
        if i % 3 == 0:  # the same sample sent again 7 ms later
            lines.append(f"{t + 0.007:.4f},{acc},{gyro}")
    # sample 50: the accelerometer was read before it updated (stale), the gyroscope after
    parts = lines[50 + 50 // 3 + 1].split(",")
    prev = lines[50 + 50 // 3].split(",")
    lines[50 + 50 // 3 + 1] = ",".join([parts[0], *prev[1:4], *parts[4:]])
    p = tmp_path / "a.csv"
    p.write_text(HEADER + "\n".join(lines) + "\n")
    s, w = read_imu_csv(p)
    assert len(s) == 100
    assert s.t_s == pytest.approx(np.asarray(truth_t), abs=1e-9)
    assert any("34 row(s) that repeat" in x for x in w)
    assert any("1 row(s) repeat the accelerometer" in x for x in w)


def test_a_decimal_comma_export_reads_as_the_same_numbers(sim_deadlift_dir, tmp_path):
    """Issue 14: a spreadsheet in a decimal-comma locale writes `0,98` between semicolons, and
    that CSV ended in "only 0 valid sample row(s)". It now reads the same numbers, with a warning."""
    import shutil

    d = tmp_path / "comma"
    shutil.copytree(sim_deadlift_dir, d)
    src = d / "bar.csv"
    text = src.read_text().splitlines()
    src.write_text("\n".join([text[0].replace(",", ";")] + [r.replace(",", ";").replace(".", ",") for r in text[1:]]) + "\n")
    got, warnings = read_imu_csv(src)
    want, _ = read_imu_csv(sim_deadlift_dir / "bar.csv")
    assert np.array_equal(got.t_s, want.t_s) and np.array_equal(got.acc_sf_mps2, want.acc_sf_mps2)
    assert any("decimal commas" in w for w in warnings)
