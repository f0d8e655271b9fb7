"""One pure decoder module per device kind."""

from __future__ import annotations

from sensor.decoders import witmotion

DECODERS = {witmotion.KIND: witmotion}


def make_decoder(kind: str):
    try:
        return DECODERS[kind].Decoder()
    except KeyError:
        raise ValueError(f"no decoder for sensor kind {kind!r}; known: {', '.join(DECODERS)}") from None
