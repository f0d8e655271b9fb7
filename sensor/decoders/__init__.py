"""One pure decoder module per device kind."""

from __future__ import annotations

from barback.sensor.decoders import barback_diy, movesense, polar_pmd, witmotion
from barback.sensor.decoders.base import Decoder

DECODERS = {witmotion.KIND: witmotion, polar_pmd.KIND: polar_pmd, movesense.KIND: movesense,
            barback_diy.KIND: barback_diy}


def make_decoder(kind: str, rate_hz: float | None = None) -> Decoder:
    try:
        mod = DECODERS[kind]
        return mod.Decoder() if rate_hz is None or kind == witmotion.KIND else mod.Decoder(rate_hz=rate_hz)
    except KeyError:
        raise ValueError(f"no decoder for sensor kind {kind!r}; known: {', '.join(DECODERS)}") from None
