"""Audio decoding for stage 1: read, cut, downmix to mono, resample; and the audio checks.

Every extractor receives the signal produced by :func:`load_audio` (float32 in [-1, 1], mono,
at the extractor's sample rate), decoded once per utterance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# A signal whose peak stays below -80 dBFS carries no speech: 16-bit dither alone is ~ -90 dBFS.
SILENCE_PEAK = 10 ** (-80 / 20)


class AudioError(Exception):
    """An utterance's audio cannot be used; ``status`` is the manifest status to record."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def read_audio(path: str | Path, start_s: float | None = None,
               end_s: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``path`` (optionally the [start_s, end_s) segment) to mono float32 at its own rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("missing_audio", f"{path}: audio file not found")
    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            start = int(round(start_s * rate)) if start_s else 0
            stop = int(round(end_s * rate)) if end_s else -1
            if start:
                f.seek(min(start, f.frames))
            frames = -1 if stop < 0 else max(0, stop - start)
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioError("unreadable_audio", f"{path}: cannot decode audio ({err})") from err
    return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0], rate


def load_audio(path: str | Path, sample_rate: int = 16000, start_s: float | None = None,
               end_s: float | None = None) -> np.ndarray:
    """Mono float32 signal of ``path`` resampled to ``sample_rate`` (soxr, high quality)."""
    signal, rate = read_audio(path, start_s, end_s)
    if rate != sample_rate and signal.size:
        signal = soxr.resample(signal, rate, sample_rate, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(signal, dtype=np.float32)


def check_audio(path: str | Path, start_s: float | None = None,
                end_s: float | None = None) -> dict:
    """Status, duration and native sample rate of one utterance's audio.

    Returns ``{"status", "duration_s", "sample_rate", "message"}`` where status is ``ok``,
    ``missing_audio``, ``unreadable_audio``, ``empty_audio`` (no samples) or ``silent_audio``
    (peak below -80 dBFS).
    """
    try:
        signal, rate = read_audio(path, start_s, end_s)
    except AudioError as err:
        return {"status": err.status, "duration_s": None, "sample_rate": None,
                "message": str(err)}
    duration = signal.size / rate
    if signal.size == 0:
        return {"status": "empty_audio", "duration_s": 0.0, "sample_rate": rate,
                "message": f"{path}: no audio samples"}
    if float(np.max(np.abs(signal))) < SILENCE_PEAK:
        return {"status": "silent_audio", "duration_s": duration, "sample_rate": rate,
                "message": f"{path}: audio is silent (peak below -80 dBFS)"}
    return {"status": "ok", "duration_s": duration, "sample_rate": rate, "message": ""}
