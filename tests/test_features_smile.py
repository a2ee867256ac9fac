"""Tests of the openSMILE ``mfcc39_smile`` feature set (ho2020 Sec. III-A)."""
from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from data_prep.features.base import AudioFeature
from data_prep.features.smile import (
    CONFIG_PATH,
    LEVEL_MEAN_NORM,
    SmileMfcc39,
    expected_frames,
    import_opensmile,
)

SR = 16000


def _noise(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(n)).astype(np.float32)


def _speechlike(seconds: float = 3.0, seed: int = 1) -> np.ndarray:
    """Chirp 100 Hz -> 3 kHz with a slow amplitude envelope plus a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    chirp = np.sin(2 * np.pi * (100 * t + (3000 - 100) / (2 * seconds) * t**2))
    env = 0.05 + 0.6 * np.abs(np.sin(2 * np.pi * 0.7 * t)) ** 2
    return (0.5 * env * chirp + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def feat() -> SmileMfcc39:
    return SmileMfcc39()


@pytest.fixture(scope="module")
def feat_raw() -> SmileMfcc39:
    return SmileMfcc39(mean_norm=False)


# --- interface / frame counts ---------------------------------------------------------------


def test_interface(feat):
    assert isinstance(feat, AudioFeature)
    assert feat.name == "mfcc39_smile" and feat.dim == 39 and feat.rank == "sequence"
    assert feat.sample_rate == SR
    assert feat.frame_length_s() == 0.100 and feat.frame_shift_s() == 0.050
    assert set(feat.versions()) == {"opensmile"}
    d = feat.describe()
    assert d["config"] == dataclasses.asdict(feat)
    assert set(d["config"]) == {f.name for f in dataclasses.fields(SmileMfcc39)}
    assert d["dim"] == 39 and d["frame_shift_s"] == 0.05 and d["frame_length_s"] == 0.1


@pytest.mark.parametrize(
    "n, frames",
    [
        (0, 1),  # empty: zero-padded to one frame
        (1, 1),
        (800, 1),  # shorter than one 100 ms frame
        (1599, 1),
        (1600, 1),  # exactly one frame
        (1601, 1),
        (2399, 1),  # the trailing partial frame is dropped
        (2400, 2),
        (2401, 2),
        (16000, 19),
        (16001, 19),
        (16799, 19),
        (16800, 20),
        (37123, 45),
    ],
)
def test_expected_frames_formula(n, frames):
    assert expected_frames(n, SR, 0.100, 0.050) == frames
    assert expected_frames(n) == frames


@pytest.mark.parametrize("n", [0, 1, 800, 1599, 1600, 1601, 2399, 2400, 2401, 16001, 37123])
def test_shapes_and_values(feat, n):
    y = feat.extract(_noise(n, seed=n))
    assert y.dtype == np.float32
    assert y.shape == (expected_frames(n), 39)
    assert np.all(np.isfinite(y))


def test_short_signals_are_one_zero_padded_frame(feat, feat_raw):
    x = _noise(1000)
    padded = np.concatenate([x, np.zeros(600, np.float32)])
    np.testing.assert_array_equal(feat_raw.extract(x), feat_raw.extract(padded))
    # a single frame minus its own mean is 0
    np.testing.assert_array_equal(feat.extract(x), np.zeros((1, 39), np.float32))
    silence = feat_raw.extract(np.zeros(0, np.float32))
    assert silence.shape == (1, 39) and np.all(np.isfinite(silence))


def test_rejects_multichannel(feat):
    with pytest.raises(ValueError):
        feat.extract(np.zeros((2, 16000), np.float32))


def test_accepts_float64_and_lists(feat):
    x = _noise(8000)
    y = feat.extract(x)
    np.testing.assert_array_equal(y, feat.extract(x.astype(np.float64)))
    np.testing.assert_array_equal(y, feat.extract(x.tolist()))


# --- mean normalisation ---------------------------------------------------------------------


def test_mean_normalisation(feat, feat_raw):
    x = _speechlike(3.0)
    z = feat.extract(x)
    r = feat_raw.extract(x)
    assert z.shape == r.shape == (expected_frames(x.size), 39)
    scale = np.abs(r).max(axis=0) + 1.0
    assert np.all(np.abs(z.mean(axis=0)) < 1e-5 * scale)
    # the raw log-energy is far from zero mean
    assert abs(r[:, 0].mean()) > 5.0
    # normalised = raw minus its mean over the whole utterance (all frames, all columns)
    np.testing.assert_allclose(z, r - r.mean(axis=0, dtype=np.float64), atol=1e-3 * scale.max())


# --- configuration --------------------------------------------------------------------------


def test_frame_step_changes_describe_and_count(feat):
    other = SmileMfcc39(frame_step_s=0.025)
    assert other.describe() != feat.describe()
    assert other.describe()["config"]["frame_step_s"] == 0.025
    assert other.frame_shift_s() == 0.025
    n = 16000
    assert feat.extract(_noise(n)).shape[0] == expected_frames(n) == 19
    assert other.extract(_noise(n)).shape[0] == expected_frames(n, SR, 0.1, 0.025) == 37


@pytest.mark.parametrize(
    "change",
    [
        {"frame_size_s": 0.080},
        {"num_mel_bands": 24},
        {"cep_lifter": 0.0},
        {"mel_fmin_hz": 100.0},
        {"mel_fmax_hz": 7000.0},
        {"pre_emphasis": 0.0},
        {"delta_window": 3},
        {"first_mfcc": 0, "last_mfcc": 11},
    ],
)
def test_every_field_reaches_opensmile(feat_raw, change):
    x = _speechlike(1.0)
    other = SmileMfcc39(mean_norm=False, **change)
    assert other.config() != feat_raw.config()
    a, b = feat_raw.extract(x), other.extract(x)
    assert a.shape[1] == b.shape[1] == 39
    assert a.shape != b.shape or not np.allclose(a, b)


def test_invalid_configs():
    with pytest.raises(ValueError):
        SmileMfcc39(last_mfcc=13)  # would not be 39-dim
    with pytest.raises(ValueError):
        SmileMfcc39(frame_step_s=0.0)
    with pytest.raises(ValueError):
        SmileMfcc39(mel_fmax_hz=9000.0)


def test_field_change_after_first_extract(feat_raw):
    f = SmileMfcc39(mean_norm=False)
    x = _noise(8000)
    a = f.extract(x)
    f.mean_norm = True  # the cached openSMILE instance must not be reused
    b = f.extract(x)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(b.mean(axis=0), 0.0, atol=1e-3)


# --- pickling -------------------------------------------------------------------------------


def test_pickle_round_trip():
    f = SmileMfcc39()
    x = _speechlike(2.0)
    before = f.extract(x)  # creates the cached openSMILE instance, which must not be pickled
    g = pickle.loads(pickle.dumps(f))
    assert g == f and g.config() == f.config() and g.describe() == f.describe()
    after = g.extract(x)
    np.testing.assert_array_equal(before, after)
    # repeated calls on one (reset and reused) instance give identical numbers
    np.testing.assert_array_equal(f.extract(x), before)


# --- opensmile.Smile compatibility of the shipped config -----------------------------------


def test_config_works_with_opensmile_smile(feat):
    opensmile = import_opensmile()

    smile = opensmile.Smile(feature_set=CONFIG_PATH, feature_level=LEVEL_MEAN_NORM)
    names = smile.feature_names
    assert len(names) == 39
    assert "LOGenergy" in names[0] and "mfcc" in names[1] and "mfcc" in names[12]
    x = _speechlike(1.0)
    ref = smile.process_signal(x, SR).to_numpy()  # int16-quantised input there
    y = feat.extract(x)
    assert ref.shape == y.shape
    np.testing.assert_allclose(ref, y, atol=0.05)


# --- independent reference (librosa / numpy) -------------------------------------------------


def _reference(x: np.ndarray):
    """HTK-style log-energy, MFCC 1-12 and deltas computed with numpy/scipy/librosa."""
    import librosa
    import scipy.fft

    size, step, nfft = 1600, 800, 2048
    frames = librosa.util.frame(x.astype(np.float64), frame_length=size, hop_length=step).T
    log_e = np.log(np.maximum(1.0, (frames**2).sum(axis=1) * 32767.0**2))
    pe = frames.copy()  # HTK per-frame pre-emphasis
    pe[:, 1:] = frames[:, 1:] - 0.97 * frames[:, :-1]
    pe[:, 0] = frames[:, 0] * (1 - 0.97)
    power = np.abs(np.fft.rfft(pe * np.hamming(size), n=nfft, axis=1)) ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=nfft, n_mels=26, fmin=0.0, fmax=8000.0, htk=True, norm=None)
    log_mel = np.log(np.maximum(power @ mel.T, 1e-10))
    ceps = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, 1:13]
    ceps *= 1 + 11 * np.sin(np.pi * np.arange(1, 13) / 22)  # HTK lifter, L = 22
    return log_e, ceps


def test_against_independent_reference(feat_raw):
    import librosa

    x = _speechlike(3.0)
    y = feat_raw.extract(x)
    log_e, ceps = _reference(x)
    assert y.shape[0] == log_e.shape[0] == expected_frames(x.size)

    # column 0: log-energy (before mean normalisation)
    assert np.corrcoef(log_e, y[:, 0])[0, 1] > 0.99
    np.testing.assert_allclose(y[:, 0], log_e, atol=1e-3)

    # columns 1-12: MFCC 1..12
    for k in range(12):
        assert np.corrcoef(ceps[:, k], y[:, 1 + k])[0, 1] > 0.99, f"mfcc {k + 1}"
    assert np.abs(y[:, 1:13] - ceps).max() < 0.02 * np.abs(ceps).max()

    # columns 13-25 / 26-38: HTK regression deltas (window 2, edge frames replicated).
    # openSMILE's chained cDeltaRegression pads the end of the delta level differently for
    # the accelerations, so their last delta_window (2) frames are not HTK's (documented).
    delta = librosa.feature.delta(y[:, :13].T, width=5, order=1, mode="nearest").T
    accel = librosa.feature.delta(delta.T, width=5, order=1, mode="nearest").T
    np.testing.assert_allclose(y[:, 13:26], delta, atol=1e-3)
    np.testing.assert_allclose(y[:-2, 26:39], accel[:-2], atol=1e-3)
    assert np.corrcoef(y[:, 26:39].ravel(), accel.ravel())[0, 1] > 0.95


def test_opensmile_runs_after_tensorflow_was_imported():
    # Without the RTLD_DEEPBIND preload, openSMILE aborts (malloc) once TensorFlow is loaded.
    import subprocess
    import sys

    code = ("import tensorflow, numpy as np\n"
            "from data_prep.features.smile import SmileMfcc39, import_opensmile\n"
            "x = np.random.default_rng(0).standard_normal(16000).astype('float32') * 0.3\n"
            "print(SmileMfcc39().extract(x).shape)\n"
            "sm = import_opensmile()\n"
            "print(sm.Smile(feature_set=sm.FeatureSet.eGeMAPSv02).process_signal(x, 16000).shape)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split("\n")[:2] == ["(19, 39)", "(1, 88)"]
