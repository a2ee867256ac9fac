"""Audio decoding for stage 1: read, cut, downmix to mono, resample; and the audio checks.

``read_audio`` dispatches on the file extension: wav/flac/ogg (and anything else libsndfile
reads) through soundfile; video/compressed containers (mp4, m4a, mkv, webm, ...; MELD ships
mp4 clips) through PyAV (PyPI ``av``, whose wheels bundle FFmpeg: no system ffmpeg needed).
Both paths return the same thing (mono float32 at the file's native rate, optional
[start_s, end_s) cut) and raise the same :class:`AudioError` statuses.

Every extractor receives the signal produced by :func:`load_audio` (float32 in [-1, 1], mono,
at the extractor's sample rate), decoded once per utterance.

The stage-1 checks (:func:`check_audio`), in this order: ``missing_audio``, ``unreadable_audio``
(what no decoder reads: a truncated header, a zero-byte file, a text file named ``.wav``),
``empty_audio`` (no samples), ``nonfinite_audio`` (a float file holding NaN or Inf samples:
every extractor would fail on it, or worse, quantise it silently), ``too_short_audio`` (shorter
than :data:`MIN_DURATION_S`) and ``silent_audio``. Multi-channel files are downmixed, any bit
depth (8-bit included) and any rate (8 kHz included) are read and resampled: they are ``ok``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# A signal whose peak stays below -80 dBFS carries no speech: 16-bit dither alone is ~ -90 dBFS.
SILENCE_PEAK = 10 ** (-80 / 20)

MIN_DURATION_S = 0.1
"""Shortest usable utterance (seconds, at the file's own rate): shorter audio is
``too_short_audio``. 100 ms is the longest analysis frame among the speech feature sets:
``mfcc39_smile``'s frame (100 ms Hamming frames), also the length eGeMAPS pads to
(``min_samples`` = 1600 at 16 kHz; its F0 frames are 60 ms) and four times ``mfcc39``'s 25 ms.
It is a fixed constant, not the longest window of the sets being prepared, so that the manifest
(and its hash, which every feature set is tied to) does not depend on ``--features``: preparing
another set later never changes which utterances are usable. The 128 ms FFTs of ``mel``,
``chroma`` and ``prosody8`` zero-pad a 100-128 ms signal (as their docstrings say)."""


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
        # libsndfile's own text without its "Error opening '<path>': " (the path leads already)
        reason = getattr(err, "error_string", None) or err
        raise AudioError("unreadable_audio", f"{path}: cannot decode audio ({reason})") from err
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
    """Mono float32 signal of ``path`` resampled to ``sample_rate`` (soxr, high quality).

    A signal holding NaN or Inf raises ``AudioError("nonfinite_audio")`` (the stage-1 check
    marks such files first; this keeps them from any extractor whatever the caller).
    """
    signal, rate = read_audio(path, start_s, end_s)
    bad = _nonfinite_message(path, signal)
    if bad:
        raise AudioError("nonfinite_audio", bad)
    if rate != sample_rate and signal.size:
        signal = soxr.resample(signal, rate, sample_rate, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(signal, dtype=np.float32)


def check_audio(path: str | Path, start_s: float | None = None,
                end_s: float | None = None) -> dict:
    """Status, duration and native sample rate of one utterance's audio.

    Returns ``{"status", "duration_s", "sample_rate", "message"}`` where status is ``ok``,
    ``missing_audio``, ``unreadable_audio``, ``empty_audio`` (no samples), ``nonfinite_audio``
    (NaN or Inf samples), ``too_short_audio`` (shorter than :data:`MIN_DURATION_S` = 0.1 s, a
    fixed constant: see there) or ``silent_audio`` (peak below -80 dBFS). ``message`` is one
    line naming the file ("" when ok).
    """
    try:
        signal, rate = read_audio(path, start_s, end_s)
    except AudioError as err:
        return {"status": err.status, "duration_s": None, "sample_rate": None,
                "message": " ".join(str(err).split())}
    duration = signal.size / rate
    if signal.size == 0:
        return {"status": "empty_audio", "duration_s": 0.0, "sample_rate": rate,
                "message": f"{path}: no audio samples"}
    bad = _nonfinite_message(path, signal)
    if bad:
        return {"status": "nonfinite_audio", "duration_s": duration, "sample_rate": rate,
                "message": bad}
    if duration < MIN_DURATION_S:
        return {"status": "too_short_audio", "duration_s": duration, "sample_rate": rate,
                "message": f"{path}: {signal.size} sample(s) at {rate} Hz = "
                           f"{duration * 1000:.3g} ms, shorter than the minimum "
                           f"{MIN_DURATION_S * 1000:g} ms"}
    if float(np.max(np.abs(signal))) < SILENCE_PEAK:
        return {"status": "silent_audio", "duration_s": duration, "sample_rate": rate,
                "message": f"{path}: audio is silent (peak below -80 dBFS)"}
    return {"status": "ok", "duration_s": duration, "sample_rate": rate, "message": ""}


def _nonfinite_message(path, signal: np.ndarray) -> str:
    """One line naming ``path`` and its NaN / Inf sample counts ("" when all are finite)."""
    finite = np.isfinite(signal)
    if finite.all():
        return ""
    nan = int(np.count_nonzero(np.isnan(signal)))
    inf = int(signal.size - np.count_nonzero(finite) - nan)
    return (f"{path}: {nan} NaN and {inf} infinite sample(s) of {signal.size} (damaged float "
            f"audio); not usable")
