"""Streaming integer-factor upsampling of s16le PCM (8 kHz phone audio → a 16 kHz model's rate).

Vosk resamples only when the model's conf/mfcc.conf allows it (`--allow-upsample=true`); small
models are shipped without it and fail on 8 kHz input, so we upsample ourselves for those.
"""

from __future__ import annotations

import numpy as np


class Upsampler:
    """Polyphase windowed-sinc interpolator; keeps filter history across chunks."""

    def __init__(self, factor: int, taps_per_phase: int = 16) -> None:
        if factor < 1:
            raise ValueError("factor must be ≥ 1")
        self.factor = factor
        n = factor * taps_per_phase
        cutoff = 0.45 / factor  # cycles per output sample: just under the input's Nyquist
        t = np.arange(n) - (n - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 8.0)
        h *= factor / h.sum()  # zero-stuffing divides the level by `factor`
        self._phases = [h[p::factor] for p in range(factor)]
        self._history = np.zeros(taps_per_phase - 1)
        self._odd = b""

    def process(self, pcm: bytes) -> bytes:
        data = self._odd + pcm
        usable = len(data) & ~1
        self._odd = data[usable:]
        if self.factor == 1 or not usable:
            return data[:usable]
        x = np.frombuffer(data[:usable], dtype="<i2").astype(np.float64)
        padded = np.concatenate([self._history, x])
        self._history = padded[len(padded) - len(self._history) :]
        out = np.empty(len(x) * self.factor)
        for p, taps in enumerate(self._phases):
            out[p :: self.factor] = np.convolve(padded, taps, mode="valid")
        return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes()
