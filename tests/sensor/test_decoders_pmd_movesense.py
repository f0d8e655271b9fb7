"""Polar PMD and Movesense decoders against public byte vectors (polar-ble-sdk tests) and
round trips."""

import struct

import numpy as np
import pytest

from barback.analysis.units import G0_MPS2
from barback.sensor.decoders import movesense as ms
from barback.sensor.decoders import polar_pmd as pmd
from barback.sensor.decoders.base import DecodeError

# polar-ble-sdk AccDataTest / GyrDataTest vectors (shared/reference/sensor-protocols.md §5)
ACC_COMPRESSED_0 = bytes.fromhex(
    "7107F06A9E8D0A38BE5CBEBA2F96B3EE4BE5ADFB42B9EBBE4CFEBA2F92BFEE4BE4B1FB12B9ECBD3C3EBB2F8FD3DE4BE3B5F7D2B8EDBD307E7B"
    "2F8BE3CE8BE2BAF7A2B8EEBC20BE7B2F88F3CECBE1BDEF52F8EFBC18FE3B2F8403BFCBE0C2EF32B8F0BB044EBC2E8113AF0BE0C6EFF2F7F1B9FC"
    "7DBC2E7D279F4BDFCAEBC2F7F2B8ECCD7C2E7B378F4BDECEE392F7F3B8E00DFD2D774B7FCBDDD2DF6237F5B7D44DBD2D745B6FCBDCD7D73237"
    "F6B5C88D7D2D716B4F4BDCDCD3F236F7B4BCDDFD2C6F7B3F4BDBE0CFD236F8B2B02DBE2C6C8F1FCBDAE3C7A276F9")


def test_acc_compressed_type0_public_vector():
    raw = pmd.decode_delta_frame(ACC_COMPRESSED_0, 3, 16)
    assert raw.shape == (57, 3)
    assert raw[0].tolist() == [1905, 27376, -29282]
    assert raw[1].tolist() == [2095, 27271, -29367]
    assert (raw[1] * 2.44e-4 * 1000).astype(int).tolist() == [511, 6654, -7165]  # mG, as the SDK test


def test_acc_compressed_type1_public_vector():
    frame = bytes.fromhex("02" "6500000000000000" "81" "F1FF1400F003" "06017B0F08")
    mtype, ts, acc = pmd.decode_data_frame(frame, factor=1.0)
    assert (mtype, ts) == (pmd.ACC, 101)
    assert np.round(acc / G0_MPS2 * 1000).tolist() == [[-15, 20, 1008], [-20, 17, 1008]]


def test_gyro_compressed_type0_public_vector():
    frame = bytes.fromhex("05" "0100000000000000" "80" "EAFF08000D00" "0301DF00")
    mtype, ts, gyro = pmd.decode_data_frame(frame, factor=1.0)
    assert (mtype, ts) == (pmd.GYRO, 1)
    assert np.rad2deg(gyro).round(9).tolist() == [[-22, 8, 13], [-23, 11, 16]]


def test_acc_raw_type1_h10_style():
    payload = bytes.fromhex("F7FFFFFFE703" "F8FFFEFFE503")
    frame = bytes([pmd.ACC]) + struct.pack("<Q", 2_000_000_000) + b"\x01" + payload
    _, ts, acc = pmd.decode_data_frame(frame)
    assert ts == 2_000_000_000
    assert np.round(acc / G0_MPS2 * 1000).tolist() == [[-9, -1, 999], [-8, -2, 997]]


def test_start_command_matches_the_documented_bytes():
    # Verity ACC 52 Hz, 16 bit, 8 g, 3 channels (sensor-protocols.md §2)
    assert pmd.start_command(pmd.ACC, 52, 16, 8, 3) == bytes.fromhex("0202000134000101100002010800040103")
    # H10 ACC 200 Hz, 16 bit, 2 g
    assert pmd.start_command(pmd.ACC, 200, 16, 2) == bytes.fromhex("02020001C80001011000020102 00".replace(" ", ""))


def test_control_response_with_factor_is_applied():
    dec = pmd.Decoder(rate_hz=52)
    dec.feed(0, bytes([0xF0, 0x02, pmd.ACC, 0x00, 0x00, pmd.FACTOR, 1]) + struct.pack("<f", 0.5), channel=1)
    assert dec.streams[pmd.ACC].factor == 0.5
    samples = np.array([[100, 0, 2000], [102, 1, 1999], [104, 2, 1998]])
    frame = pmd.data_frame(pmd.ACC, 10**9, 0x80, pmd.encode_delta_frame(samples))
    assert dec.feed(1, frame) is None  # waits for the matching gyro frame
    gframe = pmd.data_frame(pmd.GYRO, 10**9, 0x80, pmd.encode_delta_frame(np.zeros((3, 3), int)))
    block = dec.feed(2, gframe)
    assert block is not None and not block.host_timed
    assert block.acc_sf_mps2[:, 2] / G0_MPS2 == pytest.approx([1000, 999.5, 999])
    assert block.t_s[-1] == pytest.approx(1.0) and block.t_s[1] - block.t_s[0] == pytest.approx(1 / 52)


def test_bad_pmd_frames_are_counted_not_raised():
    dec = pmd.Decoder()
    assert dec.feed(0, b"\x02\x00") is None
    assert dec.feed(0, bytes([pmd.ACC]) + bytes(8) + b"\x80" + b"\x01") is None
    assert dec.stats.malformed == 2
    with pytest.raises(DecodeError):
        pmd.decode_data_frame(bytes([9]) + bytes(9) + b"\x00")


def test_delta_round_trip_with_large_steps():
    s = np.cumsum(np.random.default_rng(0).integers(-3000, 3000, (40, 3)), axis=0)
    assert (pmd.decode_delta_frame(pmd.encode_delta_frame(s), 3, 16) == s).all()


def test_movesense_imu6_round_trip_and_commands():
    acc = np.array([[0.1, 0.2, 9.8], [0.0, -0.1, 9.7]])
    gyro = np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -0.125]])
    pkt = ms.encode_imu6(99, 123456, acc, gyro)
    assert pkt[:2] == bytes([2, 99]) and len(pkt) == 2 + 4 + 2 * 24
    ts, a, g = ms.decode_imu6(pkt)
    assert ts == 123456 and a == pytest.approx(acc, abs=1e-6) and g == pytest.approx(gyro)
    assert ms.subscribe_command(52) == bytes([1, 99]) + b"/Meas/IMU6/52"
    with pytest.raises(ValueError):
        ms.subscribe_command(50)
    dec = ms.Decoder(rate_hz=52)
    b = dec.feed(0, pkt)
    assert b.t_s.tolist() == pytest.approx([123.456, 123.456 + 1 / 52])
    assert dec.feed(1, pkt) is None and dec.stats.duplicates == 1  # same timestamp again
    assert dec.feed(2, pkt[:-5]) is None and dec.stats.malformed == 1
    dec.feed(3, bytes([1, 99, 0x01, 0xFB]))
    assert dec.command_results == [(99, 507)]


def test_lost_pmd_frame_leaves_a_gap_instead_of_stretching_samples():
    dec = pmd.Decoder(rate_hz=100)
    z = np.zeros((10, 3), int)
    period = 10_000_000  # ns
    for k in (1, 2, 4):  # frame 3 is lost on the radio
        ts = k * 10 * period
        dec.feed(0, pmd.data_frame(pmd.ACC, ts, 0x80, pmd.encode_delta_frame(z)))
    acc_t = np.concatenate(dec.streams[pmd.ACC].t)
    d = np.diff(acc_t)
    assert np.allclose(d[d < 0.05], 0.01)  # samples stay 10 ms apart
    assert d.max() == pytest.approx(0.11)  # and the lost frame is a gap


def test_a_gyroscope_that_stops_keeps_the_backlog_bounded_and_counts_drops():
    """Issue 13 item 10: when the GYRO stream stops, every ACC frame re-joined the whole unpaired
    backlog (48.5 s instead of 2.3 s to analyse). The backlog is now bounded at 5 s of samples and
    what falls out is counted; every paired sample is still delivered."""
    rate = 100
    dec = pmd.Decoder(rate_hz=rate)
    z = np.zeros((10, 3), int)
    period = 1_000_000_000 // rate
    paired = 0
    most_pending = 0
    for k in range(1, 6001):  # 10 s with both streams, then 590 s of ACC alone
        ts = k * 10 * period
        for mtype in (pmd.ACC, pmd.GYRO) if k <= 100 else (pmd.ACC,):
            block = dec.feed(0, pmd.data_frame(mtype, ts, 0x80, pmd.encode_delta_frame(z)))
            if block is not None:
                paired += len(block.t_s)
        most_pending = max(most_pending, dec.streams[pmd.ACC].pending)
    assert paired == 100 * 10
    assert most_pending <= 2 * pmd.Decoder.MAX_UNPAIRED_S * rate + 10
    acc = dec.streams[pmd.ACC]
    assert dec.stats.unpaired + acc.pending == (6000 - 100) * 10  # every ACC sample kept or counted
    assert sum(len(t) for t in acc.t) == acc.pending


def _polar_frames(dec, n_frames, glitch_at=None, rate=100):
    z = np.zeros((10, 3), int)
    period = 1_000_000_000 // rate
    kept = 0
    for k in range(1, n_frames + 1):
        ts = k * 10 * period
        host = 5_000_000_000 + ts  # arrivals on the host clock, as a recording has them
        if k == glitch_at:
            ts += 11 * 86400 * 10**9  # one frame stamped 11.6 days ahead
        for mtype in (pmd.ACC, pmd.GYRO):
            block = dec.feed(host, pmd.data_frame(mtype, ts, 0x80, pmd.encode_delta_frame(z)))
            kept += 0 if block is None else len(block.t_s)
    return kept


def test_one_glitched_polar_stamp_costs_one_frame():
    """Issue 13 item 3: one frame stamped far ahead became the reference, and every later frame was
    dropped as a repeat (1,010 of 10,000 samples kept). Now the glitch alone is dropped, counted."""
    dec = pmd.Decoder(rate_hz=100)
    kept = _polar_frames(dec, 1000, glitch_at=100)
    # the ACC and the GYRO frame of the glitch, counted as glitches with their ten samples each
    assert kept == 10_000 - 10 and dec.stats.clock_glitches == 2 and dec.stats.glitched_samples == 20
    assert dec.stats.malformed == 0


def test_one_glitched_movesense_stamp_does_not_shift_the_rest():
    """A packet stamped 0xFFFFFF00 made the next ones look wrapped: 49.7 days added to all."""
    dec = ms.Decoder(rate_hz=52)
    acc, gyro = np.tile([0.0, 0.0, 9.8], (4, 1)), np.zeros((4, 3))
    times = []
    for k in range(200):
        ts = 1000 + k * 77  # ms
        stamp = 0xFFFFFF00 if k == 50 else ts
        b = dec.feed(2_000_000_000 + ts * 1_000_000, ms.encode_imu6(99, stamp, acc, gyro))
        if b is not None:
            times.append(float(b.t_s[0]))
    assert len(times) == 199 and max(times) < 100.0
    assert (dec.stats.clock_glitches, dec.stats.glitched_samples, dec.stats.malformed) == (1, 4, 0)


def test_a_genuine_movesense_wrap_is_still_unwrapped():
    dec = ms.Decoder(rate_hz=52)
    acc, gyro = np.tile([0.0, 0.0, 9.8], (4, 1)), np.zeros((4, 3))
    start = 2**32 - 500  # ms: the counter wraps after 49.7 days of uptime
    times = []
    for k in range(20):
        ts = (start + k * 77) % 2**32
        b = dec.feed(10**9 + k * 77 * 10**6, ms.encode_imu6(99, ts, acc, gyro))
        times.append(float(b.t_s[0]))
    assert np.allclose(np.diff(times), 0.077)


def _movesense_run(restart_at=None, bad_at=None, n=400):
    """Movesense packets every 77 ms on the host clock; the sensor's clock begins again at 0 at
    packet `restart_at` (a reboot), or one packet at `bad_at` is stamped 0 (a bad stamp)."""
    dec = ms.Decoder(rate_hz=52)
    acc, gyro = np.tile([0.0, 0.0, 9.8], (4, 1)), np.zeros((4, 3))
    times = []
    for k in range(n):
        ts = 600_000 + k * 77 if restart_at is None or k < restart_at else (k - restart_at) * 77
        if k == bad_at:
            ts = 0
        b = dec.feed(2_000_000_000 + k * 77_000_000, ms.encode_imu6(99, ts, acc, gyro))
        if b is not None:
            times.append(float(b.t_s[0]))
    return dec, np.array(times)


def test_a_movesense_reboot_keeps_every_later_sample():
    """Issue 13 item 3: a sensor whose clock restarts mid-session lost the rest of its data (every
    later packet taken for a repeat). Now each is kept, on one clock that follows on."""
    dec, times = _movesense_run(restart_at=200)
    assert len(times) == 400 and dec.stats.clock_restarts == 1 and dec.stats.duplicates == 0
    steps = np.diff(times)
    assert np.all(steps > 0) and np.allclose(np.delete(steps, 199), 0.077)
    assert abs(steps[199] - 0.077) < 0.01  # re-based by the host's clock across the reboot


def test_one_movesense_stamp_far_behind_is_not_a_reboot():
    """The next packet continues the old clock: the "reboot" is undone, nothing shifted."""
    dec, times = _movesense_run(bad_at=200)
    assert dec.stats.clock_restarts == 0 and len(times) == 400
    assert np.allclose(times, 600.0 + np.arange(400) * 0.077, atol=0.01)


def test_a_polar_reboot_keeps_every_later_frame():
    dec = pmd.Decoder(rate_hz=100)
    z = np.zeros((10, 3), int)
    kept, last = 0, []
    for k in range(1, 1001):
        ts = (k if k <= 500 else k - 500) * 100_000_000  # the clock begins again at frame 501
        host = 5_000_000_000 + k * 100_000_000
        for mtype in (pmd.ACC, pmd.GYRO):
            block = dec.feed(host, pmd.data_frame(mtype, ts, 0x80, pmd.encode_delta_frame(z)))
            if block is not None:
                kept += len(block.t_s)
                last = block.t_s
    assert kept == 10_000 and dec.stats.clock_restarts == 2  # the ACC and the GYRO stream's clock
    assert last[-1] == pytest.approx(100.0, abs=0.2) and dec.stats.duplicates == 0
