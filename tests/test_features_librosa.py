"""Tests of the librosa feature sets (``data_prep.features.librosa_sets``)."""
from __future__ import annotations

import dataclasses
import pickle

import librosa
import numpy as np
import pytest

from data_prep.features.base import AudioFeature
from data_prep.features.librosa_sets import (
    LIBROSA_SETS,
    Chroma,
    ChromaMean,
    LogMel64,
    Mel,
    MelMean,
    Mfcc39,
    Mfcc39Mean,
    Prosody8,
    Raw,
    RawFixed,
    expected_frames,
)

SR = 16000
LENGTHS = [0, 1, 100, 399, 511, 2047, 2048, 16000, 16001, 40000]


def _speechlike(n: int, seed: int = 1) -> np.ndarray:
    """Chirp 100 Hz -> 3 kHz with a slow amplitude envelope plus a little noise."""
    t = np.arange(n) / SR
    seconds = max(n / SR, 1e-3)
    rng = np.random.default_rng(seed)
    chirp = np.sin(2 * np.pi * (100 * t + (3000 - 100) / (2 * seconds) * t**2))
    env = 0.05 + 0.6 * np.abs(np.sin(2 * np.pi * 0.7 * t)) ** 2
    return (0.5 * env * chirp + 0.01 * rng.standard_normal(n)).astype(np.float32)


def _tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


SEQUENCE_SETS = [(Mfcc39, 400, 160), (LogMel64, 512, 160), (Mel, 2048, 512),
                 (Chroma, 2048, 512)]


def test_class_vars():
    names = [c.name for c in LIBROSA_SETS]
    assert names == ["mfcc39", "mfcc39_mean", "logmel64", "mel", "mel_mean", "chroma",
                     "chroma_mean", "raw", "raw_fixed", "prosody8"]
    dims = {c.name: (c.dim, c.rank) for c in LIBROSA_SETS}
    assert dims == {"mfcc39": (39, "sequence"), "mfcc39_mean": (39, "vector"),
                    "logmel64": (64, "sequence"), "mel": (128, "sequence"),
                    "mel_mean": (128, "vector"), "chroma": (12, "sequence"),
                    "chroma_mean": (12, "vector"), "raw": (1, "sequence"),
                    "raw_fixed": (48000, "vector"), "prosody8": (8, "vector")}
    for cls in LIBROSA_SETS:
        assert issubclass(cls, AudioFeature) and dataclasses.is_dataclass(cls)
        f = cls()
        assert f.sample_rate == SR and f.modality == "audio"
        assert f.versions() == {"librosa": librosa.__version__}
        d = f.describe()
        assert d["feature_set"] == cls.name and d["dim"] == cls.dim
        if cls.rank == "vector":
            assert f.frame_shift_s() is None and f.frame_length_s() is None


def test_frame_timing():
    assert Mfcc39().frame_shift_s() == pytest.approx(0.010)
    assert Mfcc39().frame_length_s() == pytest.approx(0.025)
    assert LogMel64().frame_shift_s() == pytest.approx(0.010)
    assert LogMel64().frame_length_s() == pytest.approx(0.032)
    assert Mel().frame_shift_s() == pytest.approx(0.032)
    assert Chroma().frame_length_s() == pytest.approx(0.128)
    assert Raw().frame_shift_s() == pytest.approx(1 / SR)


@pytest.mark.parametrize("cls,n_fft,hop", SEQUENCE_SETS)
@pytest.mark.parametrize("n", LENGTHS)
def test_sequence_shapes(cls, n_fft, hop, n):
    out = cls().extract(_speechlike(n))
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.shape == (expected_frames(n, n_fft, hop), cls.dim)
    assert out.shape[0] == 1 + max(n, n_fft) // hop
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("cls", [Mfcc39Mean, MelMean, ChromaMean, Prosody8])
@pytest.mark.parametrize("n", LENGTHS)
def test_vector_shapes(cls, n):
    out = cls().extract(_speechlike(n))
    assert out.dtype == np.float32 and out.shape == (cls.dim,)
    assert np.all(np.isfinite(out))


def test_silence_is_finite():
    for cls in LIBROSA_SETS:
        out = cls().extract(np.zeros(8000, np.float32))
        assert np.all(np.isfinite(out)), cls.name


# ---------------------------------------------------------------------- golden values
def _mfcc_ref(y):
    m = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, n_fft=400, hop_length=160, n_mels=40)
    return np.concatenate([m, librosa.feature.delta(m, width=9),
                           librosa.feature.delta(m, width=9, order=2)]).T


@pytest.mark.parametrize("n", [16000, 40000])
def test_mfcc39_golden(n):
    y = _speechlike(n)
    ref = _mfcc_ref(y)
    np.testing.assert_allclose(Mfcc39().extract(y), ref, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(Mfcc39Mean().extract(y), ref.mean(axis=0), rtol=1e-5, atol=1e-4)


def test_mfcc39_short_uses_nearest_deltas():
    y = _speechlike(800)  # 1 + 800 // 160 = 6 frames < 9
    out = Mfcc39().extract(y)
    m = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, n_fft=400, hop_length=160, n_mels=40)
    assert out.shape == (6, 39)
    np.testing.assert_allclose(out[:, 13:26],
                               librosa.feature.delta(m, width=9, mode="nearest").T,
                               rtol=1e-5, atol=1e-4)


def test_mfcc39_alternative_reading():
    y = _speechlike(16000)
    out = Mfcc39(n_mfcc=39, deltas=False).extract(y)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=39, n_fft=400, hop_length=160, n_mels=40).T
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError):
        Mfcc39(n_mfcc=20)


def test_logmel64_golden():
    y = _speechlike(24000)
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=160, win_length=512,
                                       window="hann", center=True, pad_mode="reflect",
                                       power=2.0, n_mels=64, fmin=50, fmax=8000)
    ref = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T
    np.testing.assert_allclose(LogMel64().extract(y), ref, rtol=1e-5, atol=1e-3)
    # hand check of the dB formula on one cell
    assert ref[10, 20] == pytest.approx(10 * np.log10(max(S[20, 10], 1e-10)), abs=1e-3)


def test_mel_golden():
    y = _speechlike(24000)
    S = librosa.feature.melspectrogram(y=y, sr=SR)
    np.testing.assert_allclose(Mel().extract(y), S.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(MelMean().extract(y), S.mean(axis=1), rtol=1e-4, atol=1e-6)
    db = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T
    np.testing.assert_allclose(Mel(db=True).extract(y), db, rtol=1e-5, atol=1e-3)


def test_chroma_golden():
    y = _speechlike(24000)
    C = librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0)
    np.testing.assert_allclose(Chroma().extract(y), C.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ChromaMean().extract(y), C.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_chroma_of_a_tone():
    # A4 = 440 Hz -> pitch class A (index 9 with C = 0)
    out = ChromaMean().extract(_tone(440.0, 1.0))
    assert int(np.argmax(out)) == 9


def test_raw_round_trip():
    y = _speechlike(12345)
    out = Raw().extract(y)
    assert out.shape == (12345, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], y)
    assert Raw().extract(np.zeros(0, np.float32)).shape == (1, 1)
    # float64 input is converted, not rejected
    np.testing.assert_array_equal(Raw().extract(y.astype(np.float64))[:, 0], y)


def test_raw_fixed_pads_and_cuts_to_three_seconds():
    y = _speechlike(12345)
    out = RawFixed().extract(y)
    assert out.shape == (48000,) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:12345], y)
    assert not out[12345:].any()                      # zero-padded at the end
    long = _speechlike(60000)
    np.testing.assert_array_equal(RawFixed().extract(long), long[:48000])  # first 3 s kept
    with pytest.raises(ValueError, match="48000 samples"):
        RawFixed(seconds=2.0)


# ---------------------------------------------------------------------- prosody8
def _sahu_reference(y: np.ndarray) -> np.ndarray:
    """Sahu 2019's extraction code as published (loops kept), on float64."""
    y = y.astype(np.float64)
    sig_mean = np.mean(abs(y))
    sig_std = np.std(y)
    rmse = librosa.feature.rms(y=y)[0]
    silence = 0
    for e in rmse:
        if e <= 0.4 * np.mean(rmse):
            silence += 1
    silence /= float(len(rmse))
    y_harmonic, _ = librosa.effects.hpss(y)
    harmonic = np.mean(y_harmonic) * 1000
    cl = 0.45 * sig_mean
    center_clipped = []
    for s in y:
        if s >= cl:
            center_clipped.append(s - cl)
        elif s <= -cl:
            center_clipped.append(s + cl)
        elif np.abs(s) < cl:
            center_clipped.append(0)
    auto_corrs = librosa.autocorrelate(np.array(center_clipped))
    return np.array([sig_mean, sig_std, np.mean(rmse), np.std(rmse), silence, harmonic,
                     1000 * np.max(auto_corrs) / len(auto_corrs), np.std(auto_corrs)])


def test_prosody8_matches_sahu_code():
    y = _speechlike(12000)
    np.testing.assert_allclose(Prosody8().extract(y), _sahu_reference(y), rtol=1e-4,
                               atol=1e-7)


def test_prosody8_known_answers():
    amp = 0.5
    y = _tone(200.0, 2.0, amp)
    out = Prosody8().extract(y)
    assert out[0] == pytest.approx(2 * amp / np.pi, rel=1e-3)  # mean |sin|
    assert out[1] == pytest.approx(amp / np.sqrt(2), rel=1e-3)  # std of a sine
    assert out[2] == pytest.approx(amp / np.sqrt(2), rel=0.02)  # RMS (edge frames padded)
    assert out[4] == pytest.approx(0.0, abs=0.02)  # no pause
    clipped = np.sign(y) * np.maximum(np.abs(y) - 0.45 * out[0], 0)
    assert out[6] == pytest.approx(1000 * np.sum(clipped.astype(np.float64) ** 2) / y.size,
                                   rel=1e-4)
    # a steady tone is harmonic: mean harmonic waveform ~ its (zero) mean
    assert abs(out[5]) < 1.0


def test_prosody8_pause_share():
    tone = _tone(200.0, 1.0)
    quiet = np.zeros(SR, np.float32)
    # 1 s tone + 1 s silence + 1 s tone + 1 s silence: half the signal is pause; frames
    # (128 ms, hop 32 ms) straddling a tone/silence edge count as speech, so the share is
    # that of the frames lying wholly in silence: 4 per edge fewer.
    y = np.concatenate([tone, quiet, tone, quiet])
    frames = 1 + y.size // 512
    wholly_silent = sum(1 for k in range(frames)
                        if not np.any(y[max(0, k * 512 - 1024):k * 512 + 1024]))
    silence = Prosody8().extract(y)[4]
    assert silence == pytest.approx(wholly_silent / frames, abs=1.5 / frames)
    assert silence == pytest.approx(0.5, abs=0.06)
    y = np.concatenate([tone, tone, tone, quiet])
    assert Prosody8().extract(y)[4] == pytest.approx(0.25, abs=0.03)


def test_prosody8_empty_signal():
    out = Prosody8().extract(np.zeros(0, np.float32))
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 1, 0, 0, 0])


# ---------------------------------------------------------------------- config, pickling
@pytest.mark.parametrize("cls,changes", [
    (Mfcc39, {"n_mels": 128}), (Mfcc39Mean, {"hop_length": 320}), (LogMel64, {"fmin": 0.0}),
    (Mel, {"db": True}), (MelMean, {"n_fft": 1024}), (Chroma, {"tuning": None}),
    (ChromaMean, {"hop_length": 256}), (Prosody8, {"silence_ratio": 0.3}),
])
def test_config_change_changes_describe(cls, changes):
    a, b = cls(), cls(**changes)
    assert a.describe() != b.describe()
    assert b.describe()["config"] == {**a.config(), **changes}


@pytest.mark.parametrize("cls", LIBROSA_SETS)
def test_pickle_round_trip(cls):
    f = cls()
    g = pickle.loads(pickle.dumps(f))
    assert g == f and g.describe() == f.describe()
    y = _speechlike(8000)
    np.testing.assert_array_equal(g.extract(y), f.extract(y))
