"""The contract every device decoder keeps, run over every registered decoder: bytes in, samples
or nothing out, never an exception, and every bad notification counted."""

import numpy as np
import pytest

from barback.sensor.decoders import DECODERS, make_decoder
from barback.sensor.decoders.base import SampleBlock


def _payloads(seed: int = 0):
    rng = np.random.default_rng(seed)
    yield b""
    for n in (1, 2, 3, 5, 8, 11, 17, 20, 32, 64, 128, 244, 512):
        for _ in range(8):
            yield rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    yield b"\x00" * 244
    yield b"\xff" * 244


@pytest.mark.parametrize("kind", sorted(DECODERS))
@pytest.mark.parametrize("rate_hz", [None, 104.0])
def test_garbage_never_raises_and_blocks_are_well_formed(kind, rate_hz):
    dec = make_decoder(kind, rate_hz)
    fed = 0
    for channel in (0, 1, 2):
        for k, payload in enumerate(_payloads(seed=channel)):
            block = dec.feed(1_000_000_000 + 10_000_000 * k, payload, channel)
            fed += 1
            if block is None:
                continue
            assert isinstance(block, SampleBlock)
            n = len(block.t_s)
            assert block.acc_sf_mps2.shape == (n, 3) and block.gyro_sf_rps.shape == (n, 3)
            assert np.all(np.isfinite(block.t_s))
    st = dec.stats
    # every notification is counted once at most
    assert st.packets + st.malformed + st.duplicates + st.clock_glitches <= fed
    # random bytes are not valid packets of any device: counted as malformed notifications, or as
    # bytes skipped to find the next frame by a stream decoder (WitMotion frames a byte stream)
    assert st.malformed > 0 or st.resync_bytes > 0


def test_every_decoder_kind_is_registered_with_its_module():
    for kind, mod in DECODERS.items():
        assert mod.KIND == kind and callable(mod.Decoder)
    with pytest.raises(ValueError, match="no decoder for sensor kind"):
        make_decoder("no_such_device")
