"""A miniature RAVDESS release with damaged audio of every kind mixed with good files.

Built in code (tests/test_damaged_audio.py): RAVDESS names (``MM-VV-EE-II-SS-RR-AA.wav``) so
the real adapter reads the tree, as on the release where the damage was found. ``DAMAGED``
says, for each file, what it is and the manifest status stage 1 gives it; every name there is
relative to the release root.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000  # RAVDESS's rate


def _tone(seconds: float, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _write(path: Path, data: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate, subtype=subtype)


# name -> (what it is, expected manifest status)
GOOD = {
    "Actor_01/03-01-01-01-01-01-01.wav": ("16-bit mono 48 kHz, 0.3 s", "ok"),
    "Actor_01/03-01-03-01-01-01-01.wav": ("16-bit mono 48 kHz, 0.3 s", "ok"),
    "Actor_02/03-01-05-01-01-01-02.wav": ("16-bit stereo 48 kHz, 0.3 s", "ok"),
    "Actor_02/03-01-05-01-02-01-02.wav": ("exactly 100 ms: the minimum, usable", "ok"),
}
DAMAGED = {
    "Actor_01/03-01-02-01-01-01-01.wav": ("truncated WAV header (first 20 bytes)",
                                          "unreadable_audio"),
    "Actor_01/03-01-02-01-01-02-01.wav": ("zero-byte file", "unreadable_audio"),
    "Actor_01/03-01-02-01-02-01-01.wav": ("a text file named .wav", "unreadable_audio"),
    "Actor_01/03-01-02-01-02-02-01.wav": ("a WAV header with no samples", "empty_audio"),
    "Actor_01/03-01-04-01-01-01-01.wav": ("float32 WAV with NaN samples", "nonfinite_audio"),
    "Actor_01/03-01-04-01-01-02-01.wav": ("float32 WAV with +Inf / -Inf samples",
                                          "nonfinite_audio"),
    "Actor_01/03-01-04-01-02-01-01.wav": ("one sample (0.02 ms)", "too_short_audio"),
    "Actor_01/03-01-04-01-02-02-01.wav": ("50 ms", "too_short_audio"),
    "Actor_01/03-01-08-01-01-01-01.wav": ("digital silence", "silent_audio"),
    # readable: downmixed / requantised / resampled by the decoder, so usable
    "Actor_02/03-01-06-01-01-01-02.wav": ("6-channel 16-bit WAV (downmixed)", "ok"),
    "Actor_02/03-01-06-01-01-02-02.wav": ("8-bit unsigned WAV", "ok"),
    "Actor_02/03-01-06-01-02-01-02.wav": ("8 kHz WAV (resampled to 16 kHz)", "ok"),
    # finite but 1e30 peak (e.g. byte-swapped floats): usable audio at stage 1, whose features
    # overflow float32; the sets that would store NaN / Inf record a failure instead
    "Actor_02/03-01-07-01-01-01-02.wav": ("float32 WAV with a 1e30 peak", "ok"),
    "Actor_02/03-01-07-01-01-01-02 (copy).wav": ("a name the adapter cannot parse",
                                                 "bad_filename"),
}
HUGE = "03-01-07-01-01-01-02"        # utt_id of the 1e30 file
# Not a file: the adapter lists files only, so it is neither a row nor a problem line.
DIRECTORY = "Actor_02/03-01-07-01-02-01-02.wav"


def build_damaged_ravdess(parent: Path) -> Path:
    """The release root (``Audio_Speech_Actors_01-24``) with ``GOOD`` and ``DAMAGED``."""
    root = parent / "Audio_Speech_Actors_01-24"
    tone = _tone(0.3)
    a1, a2 = root / "Actor_01", root / "Actor_02"
    _write(a1 / "03-01-01-01-01-01-01.wav", tone)
    _write(a1 / "03-01-03-01-01-01-01.wav", _tone(0.3, amplitude=0.5))
    _write(a2 / "03-01-05-01-01-01-02.wav", np.stack([tone, 0.5 * tone], axis=1))
    _write(a2 / "03-01-05-01-02-01-02.wav", _tone(0.1))

    truncated = a1 / "03-01-02-01-01-01-01.wav"
    _write(truncated, tone)
    truncated.write_bytes(truncated.read_bytes()[:20])          # cut inside the fmt chunk
    (a1 / "03-01-02-01-01-02-01.wav").write_bytes(b"")
    _write(a1 / "03-01-02-01-02-02-01.wav", tone[:0])           # a 44-byte header, 0 frames
    (a1 / "03-01-02-01-02-01-01.wav").write_text("01 neutral, 02 calm, 03 happy ...\n")
    nan = tone.copy()
    nan[1000:1010] = np.nan
    _write(a1 / "03-01-04-01-01-01-01.wav", nan, subtype="FLOAT")
    inf = tone.copy()
    inf[500], inf[501] = np.inf, -np.inf
    _write(a1 / "03-01-04-01-01-02-01.wav", inf, subtype="FLOAT")
    _write(a1 / "03-01-04-01-02-01-01.wav", np.array([0.3], np.float32))
    _write(a1 / "03-01-04-01-02-02-01.wav", _tone(0.05))
    _write(a1 / "03-01-08-01-01-01-01.wav", np.zeros_like(tone))

    _write(a2 / "03-01-06-01-01-01-02.wav", np.stack([tone] * 6, axis=1))
    _write(a2 / "03-01-06-01-01-02-02.wav", tone, subtype="PCM_U8")
    _write(a2 / "03-01-06-01-02-01-02.wav", _tone(0.3, rate=8000), rate=8000)
    _write(a2 / f"{HUGE}.wav", tone * np.float32(1e30 / 0.3), subtype="FLOAT")
    _write(a2 / f"{HUGE} (copy).wav", tone)
    (root / DIRECTORY).mkdir()
    return root
