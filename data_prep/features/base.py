"""The interface every feature set implements.

A *feature set* is one extractor with one configuration, stored under its own name
(``mfcc39_smile``, ``bert_tokens``...). Its ``describe()`` is written to the store metadata,
so anything that changes the numbers must appear in ``config``.

Non-finite values, one policy: an audio set refuses a signal holding NaN or Inf
(:func:`require_finite`, a ``ValueError``; stage 1 already marks such files
``nonfinite_audio``) and never replaces a NaN / Inf in its output by a number; an output that
is not finite anyway is refused by the store writer (``ser_keras.store.ShardWriter.write``),
which records the utterance as failed for that set (``non_finite_features``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np


def require_finite(signal: np.ndarray, name: str) -> None:
    """ValueError naming the set ``name`` when ``signal`` holds NaN or Inf samples."""
    finite = np.isfinite(signal)
    if not finite.all():
        raise ValueError(f"{name}: the signal holds {finite.size - np.count_nonzero(finite)} "
                         f"NaN or infinite sample(s) of {finite.size}; not extracted")


@dataclasses.dataclass
class AudioFeature:
    """Base of frame-level (or utterance-level) acoustic feature sets.

    Subclasses set ``name``, ``dim``, ``rank`` and implement ``extract``. ``extract`` receives a
    mono float32 signal in [-1, 1] already resampled to ``sample_rate`` and returns float32
    ``(frames, dim)`` for rank ``"sequence"`` or ``(dim,)`` for rank ``"vector"``.
    Instances must be picklable: they are sent to worker processes.
    """

    modality: ClassVar[str] = "audio"
    name: ClassVar[str] = ""
    dim: ClassVar[int] = 0
    rank: ClassVar[str] = "sequence"
    sample_rate: ClassVar[int] = 16000

    def config(self) -> dict[str, Any]:
        """Every parameter that changes the output (dataclass fields by default)."""
        return dataclasses.asdict(self)

    def frame_shift_s(self) -> float | None:
        return None

    def frame_length_s(self) -> float | None:
        return None

    def versions(self) -> dict[str, str]:
        """Versions of the packages that compute this set."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {
            "feature_set": self.name,
            "modality": self.modality,
            "extractor": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.config(),
            "dim": self.dim,
            "rank": self.rank,
            "dtype": "float32",
            "sample_rate": self.sample_rate,
            "frame_shift_s": self.frame_shift_s(),
            "frame_length_s": self.frame_length_s(),
            "versions": self.versions(),
        }

    def extract(self, signal: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement extract()")
