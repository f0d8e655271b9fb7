"""The DIY profile: one definition, and the header, README tables and decoder agree with it;
the reference emulator passes the conformance checker, and each injected fault is caught."""

import asyncio
import shutil
import subprocess
import textwrap

import numpy as np
import pytest

from barback.firmware_spec import generate, load_profile
from barback.sensor.decoders import barback_diy as diy
from barback.sensor.decoders.base import DecodeError

P = load_profile()


def test_generated_header_and_readme_are_up_to_date():
    assert generate.main(["--check"]) == 0


def test_readme_and_header_name_every_command_and_field():
    readme = (generate.HERE / "README.md").read_text()
    header = (generate.HERE / "barback_profile.h").read_text()
    for c in P.raw["command"]:
        assert f"`{c['name']}`" in readme and f"BB_CMD_{c['name']} 0x{c['opcode']:02X}" in header
    for f in P.header + P.sample:
        assert f"`{f.name}`" in readme and f" {f.name};" in header


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_c_header_compiles_with_the_profile_sizes(tmp_path):
    src = tmp_path / "t.c"
    src.write_text(textwrap.dedent(f"""
        #include "{generate.HERE / 'barback_profile.h'}"
        _Static_assert(sizeof(bb_data_header_t) == BB_HEADER_SIZE, "header");
        _Static_assert(sizeof(bb_sample_t) == BB_SAMPLE_SIZE, "sample");
        _Static_assert(BB_HEADER_SIZE == {P.header_size}, "header size");
        _Static_assert(BB_SAMPLE_SIZE == {P.sample_size}, "sample size");
        _Static_assert(BB_HEADER_SIZE + BB_MAX_SAMPLES_PER_PACKET * BB_SAMPLE_SIZE <= BB_MIN_ATT_MTU + 62, "fits 247 MTU");
        int main(void) {{ return 0; }}
    """))
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-o", str(tmp_path / "t"), str(src)], check=True)


def test_decoder_tables_match_the_profile():
    assert diy.HEADER.size == P.header_size == 9
    assert diy.SAMPLE_DTYPE.itemsize == P.sample_size == 12
    assert diy.STATUS_PAYLOAD.size == sum(f.size for f in P.status_payload)
    assert diy.command("SET_RATE", 200) == bytes([0x01, 0xC8, 0x00])
    assert diy.command("TIME_SYNC", 1) == bytes([0x06]) + (1).to_bytes(8, "little")


def test_byte_exact_packet():
    # version 1, flags: acc ±8 g (2), gyro ±2000 dps (3), synced; counter 5; t = 1000 us; 1 sample
    pkt = bytes.fromhex("01" "8e" "0500" "e8030000" "01" "000000000010" "100000000000")
    head, acc, gyro = diy.decode_packet(pkt)
    assert head == {"version": 1, "flags": 0x8E, "counter": 5, "timestamp_us": 1000, "n_samples": 1}
    assert acc[0] == pytest.approx([0, 0, 4096 * 8 / 32768 * 9.80665])
    assert gyro[0] == pytest.approx([np.deg2rad(16 * 2000 / 32768), 0, 0])
    assert diy.encode_packet(5, 1000, np.array([[0, 0, 4096]]), np.array([[16, 0, 0]])) == pkt


@pytest.mark.parametrize("packet, problem", [
    (bytes(5), "shorter"),
    (diy.encode_packet(0, 0, np.zeros((2, 3), int), np.zeros((2, 3), int), version=9), "unknown protocol version"),
    (diy.encode_packet(0, 0, np.zeros((2, 3), int), np.zeros((2, 3), int))[:-3], "does not hold"),
    (bytes([1, 0x8E, 0, 0, 0, 0, 0, 0, 40]) + bytes(40 * 12), "does not hold"),
])
def test_bad_packets_raise_clear_errors_and_are_counted(packet, problem):
    with pytest.raises(DecodeError, match=problem):
        diy.decode_packet(packet)
    dec = diy.Decoder(rate_hz=100)
    assert dec.feed(0, packet) is None and dec.stats.malformed == 1


def test_decoder_times_from_counter_and_skips_duplicates():
    dec = diy.Decoder(rate_hz=100)
    z = np.zeros((5, 3), int)
    b0 = dec.feed(0, diy.encode_packet(0, 1_000_000, z, z))
    b1 = dec.feed(0, diy.encode_packet(5, 1_050_000, z, z))
    assert dec.feed(0, diy.encode_packet(5, 1_050_000, z, z)) is None and dec.stats.duplicates == 1
    assert np.concatenate([b0.t_s, b1.t_s]) == pytest.approx(1.0 + np.arange(10) / 100)
    dec.feed(0, diy.encode_packet(13, 1_130_000, z, z))  # 3 samples lost on the radio
    assert dec.lost_samples == 3


def test_a_reboot_mid_session_keeps_every_later_packet():
    """The sensor reboots after 300 packets: its counter and clock begin again at 0. Every later
    packet is kept (all were dropped as repeats), on one clock that follows on."""
    dec = diy.Decoder(rate_hz=100)
    z = np.zeros((5, 3), int)
    times = []
    for k in range(600):
        j = k if k < 300 else k - 300
        c, t_us = (1000 + 5 * j, 9_000_000 + 50_000 * j) if k < 300 else (5 * j, 50_000 * j)
        b = dec.feed(10**9 + k * 50_000_000, diy.encode_packet(c % 65536, t_us, z, z))
        if b is not None:
            times.extend(b.t_s)
    steps = np.diff(times)
    assert len(times) == 3000 and dec.stats.clock_restarts == 1 and dec.stats.duplicates == 0
    assert np.all(steps > 0) and steps.max() < 0.02


@pytest.mark.ble
def test_reference_emulator_passes_conformance():
    from barback.sensor.conformance import check_emulated

    checks = asyncio.run(check_emulated(stream_s=1.5))
    assert [c.name for c in checks if not c.ok] == []
    assert len(checks) >= 15


@pytest.mark.ble
@pytest.mark.parametrize("fault, caught", [
    ({"wrong_rate_hz": 180.0}, "rate"),
    ({"skip_counter_every": 5}, "counter"),
    ({"bad_responses": True}, "error_codes"),
    ({"ignores_stop": True}, "stop"),
    ({"bad_timestamps": True}, "timestamps"),
])
def test_conformance_catches_injected_faults(fault, caught):
    from barback.sensor.conformance import check_emulated
    from barback.sensor.emulators import Faults

    checks = asyncio.run(check_emulated(Faults(**fault), stream_s=1.5))
    assert caught in [c.name for c in checks if not c.ok]


@pytest.mark.ble
def test_capture_from_a_diy_sensor(tmp_path):
    from barback.analysis.imu import Role
    from barback.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
    from barback.sensor.capture import Capture, Target
    from barback.sensor.emulators import DiyEmulator
    from barback.sensor.replay import session_from_recording

    async def run():
        radio = VirtualRadio()
        emu = DiyEmulator("C0:DE:00:00:00:02", "barback bar", rate_hz=100.0)
        await radio.add(emu)
        cap = Capture([Target("bar", emu.address)], "deadlift", tmp_path / "rec", rate_hz=200,
                      backend=BumbleClient, scanner_backend=BumbleScanner, backend_kwargs={"radio": radio},
                      on_message=lambda m: None)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(2.0, stop.set)
        await cap.run(stop)
        return emu

    emu = asyncio.run(run())
    assert emu.rate_hz == 200.0 and emu.synced
    s = session_from_recording(tmp_path / "rec")
    bar = s.streams[Role.BAR]
    assert len(bar) / (bar.t_s[-1] - bar.t_s[0]) == pytest.approx(200, rel=0.05)
    assert np.allclose(np.diff(bar.t_s), 1 / 200, atol=1e-6)  # timed from the counter
