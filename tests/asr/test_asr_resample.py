from __future__ import annotations

import numpy as np
import pytest

from asr.resample import Upsampler


def _tone(freq: float, seconds: float = 1.0, rate: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (10000 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


@pytest.mark.parametrize("freq", [300, 1000, 3000])
def test_telephone_band_survives_2x_upsampling(freq: float) -> None:
    out = np.frombuffer(Upsampler(2).process(_tone(freq)), dtype="<i2").astype(np.float64)[200:]
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    freqs = np.fft.rfftfreq(len(out), 1 / 16000)
    assert abs(freqs[spectrum.argmax()] - freq) < 5
    assert np.sqrt(np.mean(out**2)) == pytest.approx(10000 / np.sqrt(2), rel=0.12)
    image = spectrum[np.abs(freqs - (8000 - freq)) < 30].max()  # the mirror zero-stuffing creates
    assert image < spectrum.max() * 1e-3


def test_streaming_equals_one_shot_and_doubles_length() -> None:
    pcm = _tone(700, 0.5)
    whole = Upsampler(2).process(pcm)
    up = Upsampler(2)
    pieces = b"".join(up.process(pcm[i : i + 333]) for i in range(0, len(pcm), 333))
    assert len(whole) == 2 * len(pcm)
    assert pieces == whole


def test_factor_one_is_identity() -> None:
    assert Upsampler(1).process(b"\x01\x02\x03") == b"\x01\x02"
