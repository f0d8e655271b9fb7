"""Byte-exact WitMotion decoder tests (vectors built from the published packet table)."""

import numpy as np
import pytest

from barback.analysis.units import G0_MPS2
from barback.sensor.decoders import witmotion

# 55 61 | acc x,y,z | gyro x,y,z | roll, pitch, yaw   (int16 little-endian)
VECTOR = bytes.fromhex("5561" "0000" "0000" "0008" "0000" "0000" "0000" "0000" "0000" "0000")


def test_spec_vector_acc_z_is_one_g():
    v = witmotion.decode_packet(VECTOR)
    assert v["acc_z"] == pytest.approx(1.0 * G0_MPS2)  # 0x0800 / 32768 * 16 g
    assert v["acc_x"] == 0 and v["gyro_x"] == 0


def test_full_scale_values_and_sign():
    pkt = bytes.fromhex("5561" "0080" "ff7f" "0040" "0080" "0040" "00c0" "0040" "00c0" "ff7f")
    v = witmotion.decode_packet(pkt)
    assert v["acc_x"] == pytest.approx(-16 * G0_MPS2)
    assert v["acc_y"] == pytest.approx(32767 / 32768 * 16 * G0_MPS2)
    assert v["acc_z"] == pytest.approx(8 * G0_MPS2)
    assert v["gyro_x"] == pytest.approx(np.deg2rad(-2000))
    assert v["gyro_y"] == pytest.approx(np.deg2rad(1000))
    assert v["gyro_z"] == pytest.approx(np.deg2rad(-1000))
    assert v["roll"] == pytest.approx(90) and v["pitch"] == pytest.approx(-90)


def test_encode_decode_roundtrip():
    pkt = witmotion.encode_packet([0.5, -0.25, 1.0], [100.0, -50.0, 3.0], [10, 20, 30])
    assert len(pkt) == 20 and pkt[:2] == b"\x55\x61"
    v = witmotion.decode_packet(pkt)
    assert v["acc_y"] == pytest.approx(-0.25 * G0_MPS2, abs=1e-3)
    assert v["gyro_x"] == pytest.approx(np.deg2rad(100.0), abs=1e-3)


def test_rate_commands():
    assert witmotion.rate_command(50) == bytes.fromhex("FFAA030800")
    assert witmotion.rate_command(200) == bytes.fromhex("FFAA030B00")
    with pytest.raises(ValueError):
        witmotion.rate_command(123)


def test_reframes_split_and_merged_notifications():
    pkts = [witmotion.encode_packet([0, 0, k / 10], [k, 0, 0]) for k in range(5)]
    stream = b"".join(pkts)
    dec = witmotion.Decoder()
    blocks = [dec.feed(i, stream[i:i + 7]) for i in range(0, len(stream), 7)]
    acc = np.concatenate([b.acc_sf_mps2 for b in blocks if b is not None])
    assert len(acc) == 5
    assert acc[:, 2] == pytest.approx(np.arange(5) / 10 * G0_MPS2, abs=16 / 32768 * G0_MPS2)  # 1 LSB
    assert dec.stats.packets == 5 and dec.stats.malformed == 0


def test_junk_and_short_packets_are_counted_and_skipped():
    good = witmotion.encode_packet([0, 0, 1], [0, 0, 0])
    dec = witmotion.Decoder()
    b = dec.feed(1, b"\x00\x13junk" + good[:12] + good + good)
    assert b is not None and len(b.t_s) == 2
    assert dec.stats.malformed == 1  # the packet cut short by the next header
    assert dec.stats.resync_bytes == 6
    assert b.host_timed and b.t_s[0] == pytest.approx(1e-9)
