"""The native recording format: round trip, damage recovery, crash safety."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from barback.sensor.recording import (
    Record,
    RecordingMeta,
    RecordingWriter,
    RecordType,
    SensorInfo,
    encode_record,
    iter_records,
    read_recording,
)


def _meta():
    return RecordingMeta(exercise="deadlift", sensors=[SensorInfo(0, "bar", "witmotion")])


def _recs(n):
    return [Record(RecordType.NOTIFICATION, 0, 0, 1000 * i, bytes([i % 256]) * 20) for i in range(n)]


def test_round_trip(tmp_path):
    recs = _recs(100) + [Record(RecordType.EVENT, 0, 0, 200_000, b'{"event": "disconnected"}')]
    with RecordingWriter(tmp_path / "r", _meta()) as w:
        for r in recs:
            w.append(r)
    meta, back, rep = read_recording(tmp_path / "r")
    assert back == recs
    assert meta.sensors[0].kind == "witmotion"
    assert rep.corrupt_records == 0 and not rep.truncated_tail


def test_record_layout_is_as_documented():
    raw = encode_record(Record(RecordType.NOTIFICATION, 2, 1, 0x0102030405060708, b"\xaa\xbb"))
    # sync, type, sensor, channel, int64 time LE, uint16 length LE, payload, crc32 LE
    assert raw[:4] == bytes([0xA5, 1, 2, 1])
    assert raw[4:12] == bytes.fromhex("0807060504030201")
    assert raw[12:14] == b"\x02\x00" and raw[14:16] == b"\xaa\xbb"
    import zlib

    assert int.from_bytes(raw[16:20], "little") == zlib.crc32(raw[1:16])


def test_truncated_tail_and_corruption_are_skipped(tmp_path):
    with RecordingWriter(tmp_path / "r", _meta()) as w:
        for r in _recs(50):
            w.append(r)
    path = tmp_path / "r" / "stream.bbr"
    data = bytearray(path.read_bytes())
    rec_len = 16 + 20 + 4
    data[8 + 10 * rec_len + 15] ^= 0xFF  # damage one payload byte of record 10
    data = data[:-7]  # cut the last record short
    path.write_bytes(bytes(data))
    _, back, rep = read_recording(tmp_path / "r")
    assert len(back) == 48
    assert rep.corrupt_records >= 1 and rep.truncated_tail
    assert [r.host_time_ns for r in back][:10] == [1000 * i for i in range(10)]


def _written(tmp_path, n=100):
    with RecordingWriter(tmp_path / "r", _meta()) as w:
        for r in _recs(n):
            w.append(r)
    return tmp_path / "r" / "stream.bbr"


@pytest.mark.parametrize("byte", range(5))
def test_one_bad_byte_in_the_file_header_keeps_every_record(tmp_path, byte):
    path = _written(tmp_path)
    data = bytearray(path.read_bytes())
    data[byte] ^= 0x5A
    path.write_bytes(bytes(data))
    _, back, rep = read_recording(tmp_path / "r")
    assert [r.host_time_ns for r in back] == [1000 * i for i in range(100)]
    assert rep.header_damaged and rep.corrupt_records == 0 and rep.skipped_bytes == 0


def test_a_lying_length_near_the_end_costs_one_record(tmp_path):
    """A length field that runs past the end of the file, 5 records before it: the 4 intact
    records after it are kept (they were dropped as a "truncated tail")."""
    path = _written(tmp_path)
    data = bytearray(path.read_bytes())
    rec_len = 14 + 20 + 4  # head (sync, type, sensor, channel, time, length), payload, CRC
    assert len(data) == 8 + 100 * rec_len
    at = 8 + 95 * rec_len + 12  # the length field of record 95
    data[at:at + 2] = (4000).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    _, back, rep = read_recording(tmp_path / "r")
    assert [r.host_time_ns for r in back] == [1000 * i for i in range(100) if i != 95]
    assert not rep.truncated_tail and rep.corrupt_records == 1 and rep.skipped_bytes == rec_len


def test_bad_magic_is_refused():
    with pytest.raises(ValueError, match="magic"):
        list(iter_records(b"NOTAREC" + b"\x00" * 20))


def test_kill_9_loses_at_most_the_flush_interval(tmp_path):
    """A writer killed with SIGKILL leaves a readable recording with what it flushed."""
    folder = tmp_path / "crash"
    code = textwrap.dedent(f"""
        import time, sys
        from barback.sensor.recording import *
        meta = RecordingMeta(exercise="deadlift", sensors=[SensorInfo(0, "bar", "witmotion")])
        w = RecordingWriter({str(folder)!r}, meta, flush_interval_s=0.2)
        i = 0
        t0 = time.monotonic()
        while True:
            w.append(Record(RecordType.NOTIFICATION, 0, 0, int((time.monotonic() - t0) * 1e9), b"x" * 20))
            i += 1
            if i == 500:  # tell the parent how far the data has got, then keep writing
                print(f"appended {{(time.monotonic() - t0):.6f}}", flush=True)
            time.sleep(0.001)
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    word, appended_s = p.stdout.readline().split()
    assert word == b"appended"
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    _, back, rep = read_recording(folder)
    assert len(back) >= 300
    written_s = back[-1].host_time_ns / 1e9
    # what had been appended by the time the parent heard of it is on disk, but for at most one
    # flush interval (0.2 s) and the one record being written
    assert written_s >= float(appended_s) - 0.2 - 0.01
    assert rep.corrupt_records == 0
