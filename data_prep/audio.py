"""Audio decoding for stage 1: read, cut, downmix to mono, resample; and the audio checks.

``read_audio`` dispatches on the file extension: wav/flac/ogg (and anything else libsndfile
reads) through soundfile; video/compressed containers (mp4, m4a, mkv, webm, ...; MELD ships
mp4 clips) through PyAV (PyPI ``av``, whose wheels bundle FFmpeg: no system ffmpeg needed).
Both paths return the same thing (mono float32 at the file's native rate, optional
[start_s, end_s) cut) and raise the same :class:`AudioError` statuses.

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


# Containers decoded with PyAV (FFmpeg) instead of libsndfile.
AV_EXTENSIONS = frozenset({".mp4", ".m4a", ".mkv", ".webm", ".mov", ".avi", ".aac", ".mp3"})


def read_audio(path: str | Path, start_s: float | None = None,
               end_s: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``path`` (optionally the [start_s, end_s) segment) to mono float32 at its own rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("missing_audio", f"{path}: audio file not found")
    if path.suffix.lower() in AV_EXTENSIONS:
        return _read_av(path, start_s, end_s)
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


def _read_av(path: Path, start_s: float | None,
             end_s: float | None) -> tuple[np.ndarray, int]:
    """First audio stream of a media container via PyAV: downmixed, native rate, cut."""
    try:
        import av
    except ImportError as err:  # pragma: no cover - av is an install requirement
        raise AudioError("unreadable_audio",
                         f"{path}: decoding {path.suffix} needs PyAV (pip install av)") from err
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError("unreadable_audio", f"{path}: no audio stream")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or stream.rate
            if not rate:
                raise AudioError("unreadable_audio", f"{path}: audio stream has no sample rate")
            # Planar float keeps channels apart, whatever the codec's native sample format.
            resampler = av.AudioResampler(format="fltp", rate=rate)
            chunks: list[np.ndarray] = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().mean(axis=0))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
    except AudioError:
        raise
    except (av.FFmpegError, OSError, ValueError, RuntimeError) as err:
        raise AudioError("unreadable_audio", f"{path}: cannot decode audio ({err})") from err
    signal = (np.concatenate(chunks) if chunks else np.zeros(0)).astype(np.float32)
    start = int(round(start_s * rate)) if start_s else 0
    stop = int(round(end_s * rate)) if end_s else signal.size
    return np.ascontiguousarray(signal[min(start, signal.size):max(start, stop)]), rate


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
