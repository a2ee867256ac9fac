"""librosa feature sets: MFCC, log-Mel, Mel, chroma, raw waveform (whole or fixed-length) and eight handcrafted features.

Papers (``/work/shared/PAPERS.md``):

* kakuba2023 (DBMER, Sec. III-A, Table 4): "MFCCs and chroma grams ... mel spectrograms ... The
  mean value of these features extracted from each frame was calculated" -> ``mfcc39_mean``,
  ``mel_mean``, ``chroma_mean`` (utterance means) and the raw signal -> ``raw``; Experiment B uses
  frame-level MFCC sequences -> ``mfcc39``. kakuba2023 gives no frame/window settings.
* alqurashi2024 (Sec. II-B 1): "We use Librosa toolkit to extract 39 dimensional (MFCCs) with
  16000 Hz of sampling frequency and calculate the mean of the frames" -> ``mfcc39_mean``; "The
  handcrafted speech features used in [15] (Sahu 2019, arXiv:1904.06022), including Pitch,
  Harmonics, Speech Energy, Pause and Central resulting eight speech feature vector per
  utterance ... Librosa" -> ``prosody8``.
* triantafyllopoulos2022 (Sec. 3): "log-Mel spectrograms computed with 64 Mel bins, a window
  size of 32 ms, and a hop size of 10 ms, similar to the original authors [PANNs]. Our sampling
  rate for all experiments is 16 kHz" -> ``logmel64``.

Frames. Every STFT-based set here uses librosa's centred frames (``center=True``): frame ``k``
is centred on sample ``k * hop``, so ``frames = 1 + N // hop`` (:func:`expected_frames`).
A signal shorter than the FFT size (including an empty one) is first zero-padded at its end to
``n_fft`` samples, so it gives ``1 + n_fft // hop`` frames (never an empty array, never a
librosa warning); the utterance means of such a signal are means over those frames.

Non-finite values (the package's one policy, ``data_prep.features.base``): a signal holding NaN
or Inf is refused with a ``ValueError`` (:func:`_prepare`), and no output value is replaced: for
a finite signal every set here is finite without help (``power_to_db`` floors the power at
``amin`` before the log, so silence gives ``10 * log10(amin)``, never -inf; chroma leaves an
all-zero frame zero), and an output that is not finite anyway (float32 overflow of a signal far
outside [-1, 1]) is refused by the store writer, not zeroed. All outputs are float32.
Instances hold only their dataclass fields: picklable.
Written against librosa 0.11; only long-stable APIs are used (``feature.mfcc``,
``feature.melspectrogram``, ``feature.chroma_stft``, ``feature.delta``, ``feature.rms``,
``effects.hpss``, ``autocorrelate``, ``power_to_db``), all keyword-only as librosa 1.0 requires.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import librosa
import numpy as np

from data_prep.features.base import AudioFeature, require_finite


def expected_frames(num_samples: int, n_fft: int, hop_length: int) -> int:
    """Frames of a centred librosa STFT after the short-signal padding described above."""
    return 1 + max(int(num_samples), int(n_fft)) // int(hop_length)


def _prepare(signal: np.ndarray, min_length: int, name: str = "librosa") -> np.ndarray:
    """Mono float32, contiguous, zero-padded at the end to at least ``min_length`` samples;
    ValueError for a signal holding NaN or Inf."""
    y = np.ascontiguousarray(np.asarray(signal, dtype=np.float32).reshape(-1))
    require_finite(y, name)
    if y.size < min_length:
        y = np.concatenate([y, np.zeros(min_length - y.size, dtype=np.float32)])
    return y


def _float32(x: np.ndarray) -> np.ndarray:
    """``x`` as contiguous float32, values untouched: a NaN / Inf stays one (the store writer
    refuses it; see the module docstring), it is never replaced by a number."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


class _LibrosaMixin:
    """Shared helpers: versions, and frame timing from ``n_fft``/``hop_length`` fields."""

    def versions(self) -> dict[str, str]:
        return {"librosa": librosa.__version__}


# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Mfcc39(_LibrosaMixin, AudioFeature):
    """``mfcc39``: librosa MFCC 0..12 + deltas + delta-deltas, float32 ``(frames, 39)``.

    Columns 0-12: ``librosa.feature.mfcc(y, sr=16000, n_mfcc=13, n_fft=400, hop_length=160,
    n_mels=40, fmin=0, fmax=8000)`` (Hann window, centred frames, power spectrogram, Slaney Mel
    filters, log via ``power_to_db(ref=1, amin=1e-10, top_db=80)``, DCT-II ortho, no lifter: all
    librosa defaults except the sizes below); 13-25: ``librosa.feature.delta(width=9)``;
    26-38: ``delta(order=2)``. With fewer than ``delta_width`` frames (only for signals shorter
    than ``(delta_width - 1) * hop`` = 80 ms) librosa's ``mode="interp"`` is impossible and
    ``mode="nearest"`` is used instead.

    Neither paper gives the MFCC analysis: kakuba2023 is silent; alqurashi2024 says only
    "Librosa ... 39 dimensional (MFCCs) with 16000 Hz". We read "39 dimensional" as the
    speech-standard 13 + delta + delta-delta. The other reading, 39 plain coefficients
    (``librosa.feature.mfcc(n_mfcc=39)``), is ``Mfcc39(n_mfcc=39, deltas=False)``.
    """

    name: ClassVar[str] = "mfcc39"
    dim: ClassVar[int] = 39
    rank: ClassVar[str] = "sequence"

    # alqurashi2024: "39 dimensional"; we take 13 cepstra (c0..c12) + deltas + accelerations.
    n_mfcc: int = 13
    # True: append delta and delta-delta (13*3 = 39). False needs n_mfcc = 39.
    deltas: bool = True
    # paper is silent; we use 25 ms (400 samples) because it is the standard ASR/SER analysis
    # window at 16 kHz (librosa's default 2048 = 128 ms is tuned for music).
    n_fft: int = 400
    # paper is silent; we use 10 ms (160 samples), the standard speech frame rate.
    hop_length: int = 160
    # paper is silent; we use 40 Mel bands because librosa's default 128 leaves empty filters
    # with a 400-point FFT (201 bins) and 40 is the usual count for 16 kHz speech MFCCs.
    n_mels: int = 40
    # paper is silent; librosa defaults (0 Hz .. Nyquist).
    fmin: float = 0.0
    fmax: float | None = None
    # paper is silent; librosa's default regression window (9 frames = +-40 ms).
    delta_width: int = 9

    def __post_init__(self) -> None:
        if self.n_mfcc * (3 if self.deltas else 1) != self.dim:
            raise ValueError(f"n_mfcc={self.n_mfcc}, deltas={self.deltas} does not give "
                             f"{self.dim} columns")

    def frame_shift_s(self) -> float | None:
        return self.hop_length / self.sample_rate

    def frame_length_s(self) -> float | None:
        return self.n_fft / self.sample_rate

    def _frames(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.n_fft, self.name)
        m = librosa.feature.mfcc(y=y, sr=self.sample_rate, n_mfcc=self.n_mfcc, n_fft=self.n_fft,
                                 hop_length=self.hop_length, n_mels=self.n_mels,
                                 fmin=self.fmin, fmax=self.fmax)
        if self.deltas:
            mode = "interp" if m.shape[-1] >= self.delta_width else "nearest"
            d1 = librosa.feature.delta(m, width=self.delta_width, order=1, mode=mode)
            d2 = librosa.feature.delta(m, width=self.delta_width, order=2, mode=mode)
            m = np.concatenate([m, d1, d2], axis=0)
        return m.T  # (frames, 39)

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return _float32(self._frames(signal))


class _UtteranceMean:
    """Mixin: the mean over frames of the sequence set it precedes in the bases (a vector)."""

    rank: ClassVar[str] = "vector"

    def frame_shift_s(self) -> float | None:
        return None

    def frame_length_s(self) -> float | None:
        return None

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return _float32(self._frames(signal).mean(axis=0, dtype=np.float64))


@dataclasses.dataclass
class Mfcc39Mean(_UtteranceMean, Mfcc39):
    """``mfcc39_mean``: the mean over frames of :class:`Mfcc39`, float32 ``(39,)``.

    alqurashi2024: "calculate the mean of the frames to produce 39-dimensional vector per
    utterance"; kakuba2023 Table 4 "MFCCs" (mean of the frame values). Same fields as ``mfcc39``.
    (The delta means are near zero by construction; they are kept so the 39 columns line up with
    ``mfcc39``.)
    """

    name: ClassVar[str] = "mfcc39_mean"

# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class LogMel64(_LibrosaMixin, AudioFeature):
    """``logmel64``: CNN14 input, log-Mel spectrogram float32 ``(frames, 64)``.

    triantafyllopoulos2022 Sec. 3: 64 Mel bins, 32 ms window, 10 ms hop, 16 kHz, "similar to
    the original authors" (PANNs, Kong et al. 2020). The rest follows the PANNs 16 kHz setup
    (its ``Spectrogram``/``LogmelFilterBank``): Hann window, centred frames with reflect padding,
    power spectrogram, librosa Slaney Mel filters 50-8000 Hz, ``10*log10(max(S, 1e-10))``
    (``power_to_db(ref=1.0, amin=1e-10, top_db=None)``). Exactly::

        S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=160,
                                           win_length=512, window="hann", center=True,
                                           pad_mode="reflect", power=2.0, n_mels=64,
                                           fmin=50, fmax=8000)
        librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T
    """

    name: ClassVar[str] = "logmel64"
    dim: ClassVar[int] = 64
    rank: ClassVar[str] = "sequence"

    # triantafyllopoulos2022: "window size of 32 ms" = 512 samples at 16 kHz (also the FFT size,
    # as in PANNs).
    n_fft: int = 512
    # triantafyllopoulos2022: "hop size of 10 ms" = 160 samples.
    hop_length: int = 160
    # triantafyllopoulos2022: "64 Mel bins".
    n_mels: int = 64
    # paper is silent ("similar to the original authors"); PANNs' 16 kHz config uses 50 Hz.
    fmin: float = 50.0
    # paper is silent; PANNs' 16 kHz config uses 8000 Hz (Nyquist).
    fmax: float = 8000.0
    # paper is silent; PANNs (torchlibrosa) pads centred frames by reflection.
    pad_mode: str = "reflect"
    # paper is silent; PANNs' LogmelFilterBank uses ref=1.0, amin=1e-10, top_db=None.
    amin: float = 1e-10
    top_db: float | None = None

    def frame_shift_s(self) -> float | None:
        return self.hop_length / self.sample_rate

    def frame_length_s(self) -> float | None:
        return self.n_fft / self.sample_rate

    def extract(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.n_fft, self.name)
        S = librosa.feature.melspectrogram(
            y=y, sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
            win_length=self.n_fft, window="hann", center=True, pad_mode=self.pad_mode,
            power=2.0, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax)
        return _float32(librosa.power_to_db(S, ref=1.0, amin=self.amin, top_db=self.top_db).T)


# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Mel(_LibrosaMixin, AudioFeature):
    """``mel``: kakuba2023's "Mel spectrogram", float32 ``(frames, 128)``.

    kakuba2023 gives no parameters; we use ``librosa.feature.melspectrogram`` with its defaults
    (n_fft 2048 = 128 ms, hop 512 = 32 ms, Hann, centred with zero padding, power 2, 128 Slaney
    Mel bands 0-8000 Hz) and keep the power values (``db=False``): paper is silent; our choice,
    because the widespread librosa recipe of utterance means of MFCC / chroma / Mel (which
    kakuba2023's Table 4 inputs resemble) averages ``melspectrogram`` power directly. ``Mel(db=True)`` gives
    ``power_to_db(S, ref=1.0, amin=1e-10, top_db=None)`` instead.
    """

    name: ClassVar[str] = "mel"
    dim: ClassVar[int] = 128
    rank: ClassVar[str] = "sequence"

    # paper is silent; librosa default (128 ms at 16 kHz).
    n_fft: int = 2048
    # paper is silent; librosa default (32 ms at 16 kHz).
    hop_length: int = 512
    # paper is silent; librosa default 128 bands (the set's dim).
    n_mels: int = 128
    # paper is silent; we keep librosa's power values (see the class docstring).
    db: bool = False

    def __post_init__(self) -> None:
        if self.n_mels != self.dim:
            raise ValueError(f"n_mels must be {self.dim}")

    def frame_shift_s(self) -> float | None:
        return self.hop_length / self.sample_rate

    def frame_length_s(self) -> float | None:
        return self.n_fft / self.sample_rate

    def _frames(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.n_fft, self.name)
        S = librosa.feature.melspectrogram(y=y, sr=self.sample_rate, n_fft=self.n_fft,
                                           hop_length=self.hop_length, n_mels=self.n_mels)
        if self.db:
            S = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)
        return S.T

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return _float32(self._frames(signal))


@dataclasses.dataclass
class MelMean(_UtteranceMean, Mel):
    """``mel_mean``: mean over frames of :class:`Mel`, float32 ``(128,)`` (kakuba2023 Table 4
    "Mel": "the mean value of these features extracted from each frame")."""

    name: ClassVar[str] = "mel_mean"

# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Chroma(_LibrosaMixin, AudioFeature):
    """``chroma``: kakuba2023's "chroma grams", float32 ``(frames, 12)``.

    ``librosa.feature.chroma_stft(y=y, sr=16000, n_fft=2048, hop_length=512, tuning=0.0)``:
    librosa defaults (power spectrogram, Hann, centred, 12 bins, each frame normalised to max 1;
    an all-zero frame stays zero) except the tuning, fixed at 0 instead of estimated per
    utterance.
    """

    name: ClassVar[str] = "chroma"
    dim: ClassVar[int] = 12
    rank: ClassVar[str] = "sequence"

    # paper is silent; librosa default (128 ms at 16 kHz).
    n_fft: int = 2048
    # paper is silent; librosa default (32 ms at 16 kHz).
    hop_length: int = 512
    # paper is silent; we use 0.0 (A440) instead of librosa's per-utterance estimate (None)
    # because speech has no tuning and an estimate would shift the bins from utterance to
    # utterance (and cost a pitch track). None restores librosa's estimate.
    tuning: float | None = 0.0

    def frame_shift_s(self) -> float | None:
        return self.hop_length / self.sample_rate

    def frame_length_s(self) -> float | None:
        return self.n_fft / self.sample_rate

    def _frames(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.n_fft, self.name)
        C = librosa.feature.chroma_stft(y=y, sr=self.sample_rate, n_fft=self.n_fft,
                                        hop_length=self.hop_length, tuning=self.tuning)
        return C.T

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return _float32(self._frames(signal))


@dataclasses.dataclass
class ChromaMean(_UtteranceMean, Chroma):
    """``chroma_mean``: mean over frames of :class:`Chroma`, float32 ``(12,)`` (kakuba2023
    Table 4 "All" = MFCC + chroma + Mel means)."""

    name: ClassVar[str] = "chroma_mean"

# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Raw(_LibrosaMixin, AudioFeature):
    """``raw``: the 16 kHz waveform itself, float32 ``(samples, 1)`` (kakuba2023 "raw signal").

    Every sample is one "frame" (shift = length = 1/16000 s). The values are the input samples
    unchanged (float32). An empty signal gives one zero sample ``(1, 1)``, never an empty array.
    kakuba2023 Table 4's "Raw signal" input is ``raw_fixed`` (a fixed-length vector).
    """

    name: ClassVar[str] = "raw"
    dim: ClassVar[int] = 1
    rank: ClassVar[str] = "sequence"

    def frame_shift_s(self) -> float | None:
        return 1.0 / self.sample_rate

    def frame_length_s(self) -> float | None:
        return 1.0 / self.sample_rate

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return _float32(_prepare(signal, 1, self.name).reshape(-1, 1))


@dataclasses.dataclass
class RawFixed(_LibrosaMixin, AudioFeature):
    """``raw_fixed``: the first ``seconds`` of the 16 kHz waveform as one vector, float32
    ``(seconds * 16000,)`` (kakuba2023 Table 4 "Raw signal", fed to the Fig. 2 model).

    kakuba2023 feeds utterance-level vectors to its Fig. 2 CNN and lists "Raw signal" beside
    the frame means of Mel, MFCC and chroma, without saying how a waveform became a vector (a
    per-frame mean of a waveform is its DC offset, ~0: no reading gives 81 % accuracy from
    that). We read it as the fixed-length waveform itself, as the Kaggle-style librosa
    pipelines this recipe comes from do (``librosa.load(duration=...)``): paper is silent; we
    use the first 3 s (EmoDB's utterances average ~2.8 s) because a fixed length is what a
    vector input needs; shorter signals are zero-padded at the end, longer ones cut. The
    samples are the input values unchanged.
    """

    name: ClassVar[str] = "raw_fixed"
    dim: ClassVar[int] = 48000
    rank: ClassVar[str] = "vector"

    # paper is silent; 3 s x 16 kHz = 48000 samples (the set's dim; see the class docstring).
    seconds: float = 3.0

    def __post_init__(self) -> None:
        if int(round(self.seconds * self.sample_rate)) != self.dim:
            raise ValueError(f"raw_fixed holds {self.dim} samples ({self.dim / 16000:g} s)")

    def extract(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.dim, self.name)[:self.dim]
        return _float32(y)


# --------------------------------------------------------------------------------------------
PROSODY8_COLUMNS = ("sig_mean", "sig_std", "rms_mean", "rms_std", "silence", "harmonic",
                    "auto_corr_max", "auto_corr_std")
"""Column names of ``prosody8`` (those of Sahu 2019's feature table)."""


@dataclasses.dataclass
class Prosody8(_LibrosaMixin, AudioFeature):
    """``prosody8``: alqurashi2024's eight handcrafted features, float32 ``(8,)``.

    alqurashi2024 uses "the handcrafted speech features used in [15], including Pitch,
    Harmonics, Speech Energy, Pause and Central resulting eight speech feature vector per
    utterance" with librosa. [15] is Sahu 2019 (arXiv:1904.06022); its public extraction code
    (``sig_mean, sig_std, rmse_mean, rmse_std, silence, harmonic, auto_corr_max,
    auto_corr_std``) defines the eight, and we compute exactly those, on the whole utterance
    ``y`` (N samples):

    0. ``sig_mean`` ("central" moment 1) = ``mean(|y|)``.
    1. ``sig_std`` ("central" moment 2) = ``std(y)`` (population std).
    2. ``rms_mean`` (speech energy) = mean of ``r = librosa.feature.rms(y=y, frame_length=2048,
       hop_length=512)`` (centred frames, librosa defaults).
    3. ``rms_std`` (speech energy) = ``std(r)``.
    4. ``silence`` (pause) = fraction of the frames with ``r <= silence_ratio * mean(r)``
       (Sahu: 0.4). Gives 1.0 for an all-zero signal.
    5. ``harmonic`` (harmonics) = ``1000 * mean(h)``, ``h`` the harmonic waveform of
       ``librosa.effects.hpss(y)`` (librosa defaults: n_fft 2048, kernel 31, margin 1). This is
       Sahu's definition as written: the mean of a waveform (its DC content), scaled by 1000.
    6. ``auto_corr_max`` (pitch) = ``1000 * max(a) / N`` and
    7. ``auto_corr_std`` (pitch) = ``std(a)``, where ``a = librosa.autocorrelate(c)`` over all
       lags ``0..N-1`` and ``c`` is ``y`` centre-clipped at ``cl = clip_ratio * mean(|y|)``
       (Sahu: 0.45): ``c = sign(y) * max(|y| - cl, 0)`` (Sahu's loop, vectorised; equal
       sample by sample). ``max(a)`` is ``a[0] = sum(c**2)``.

    None of these is an F0 in Hz: Sahu's "pitch" is the centre-clipped autocorrelation of the
    whole utterance (after the centre-clipping pitch detector he cites), and we keep it, because
    the paper asks for "the handcrafted speech features used in [15]". Sahu loads audio with
    librosa at 44.1 kHz; we get 16 kHz (the package-wide rate), so the frame-based columns use
    2048/512-sample frames = 128/32 ms. Scales differ widely between columns (the paper does
    not say how its model reads them; our ``lstm-speech`` standardises its input).

    A signal shorter than 2048 samples (128 ms, incl. empty) is zero-padded at its end to 2048
    before all eight are computed (so ``sig_mean`` etc. are diluted by the padding; an empty
    signal gives ``[0, 0, 0, 0, 1, 0, 0, 0]``).
    """

    name: ClassVar[str] = "prosody8"
    dim: ClassVar[int] = 8
    rank: ClassVar[str] = "vector"

    # paper is silent; Sahu 2019's code uses librosa.feature.rms defaults (2048 / 512).
    frame_length: int = 2048
    hop_length: int = 512
    # Sahu 2019: a frame is a pause when its RMS <= 0.4 * the utterance's mean RMS.
    silence_ratio: float = 0.4
    # Sahu 2019: centre-clipping level 0.45 * mean(|y|) (centre-clipping pitch detector).
    clip_ratio: float = 0.45
    # Sahu 2019: librosa.effects.hpss defaults (n_fft 2048, hop 512, kernel 31, margin 1).
    hpss_margin: float = 1.0

    def extract(self, signal: np.ndarray) -> np.ndarray:
        y = _prepare(signal, self.frame_length, self.name).astype(np.float64)
        absy = np.abs(y)
        sig_mean = absy.mean()
        sig_std = y.std()
        r = librosa.feature.rms(y=y, frame_length=self.frame_length,
                                hop_length=self.hop_length)[0]
        rms_mean = r.mean()
        rms_std = r.std()
        silence = float(np.mean(r <= self.silence_ratio * rms_mean))
        h, _ = librosa.effects.hpss(y, margin=self.hpss_margin)
        harmonic = 1000.0 * h.mean()
        cl = self.clip_ratio * sig_mean
        c = np.sign(y) * np.maximum(absy - cl, 0.0)
        a = librosa.autocorrelate(c)
        ac_max = 1000.0 * a.max() / a.size
        ac_std = a.std()
        return _float32(np.array([sig_mean, sig_std, rms_mean, rms_std, silence, harmonic,
                                  ac_max, ac_std]))


LIBROSA_SETS: tuple[type, ...] = (Mfcc39, Mfcc39Mean, LogMel64, Mel, MelMean, Chroma,
                                  ChromaMean, Raw, RawFixed, Prosody8)
"""The classes of this module, for registration."""
