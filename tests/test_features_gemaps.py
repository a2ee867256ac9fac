"""Tests of the openSMILE eGeMAPSv02 / GeMAPSv01b sets computed in one pass (gemaps.py)."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from data_prep.features.base import AudioFeature
from data_prep.features.gemaps import (
    GROUP,
    EGeMAPSFunc,
    EGeMAPSLLD,
    GeMAPSFunc,
    expected_lld_frames,
    import_opensmile,
)

SR = 16000


def _speechlike(n: int, seed: int = 1) -> np.ndarray:
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    chirp = np.sin(2 * np.pi * (140 * t + 60 * t ** 2))
    env = 0.05 + 0.6 * np.abs(np.sin(2 * np.pi * 0.7 * t)) ** 2
    return (0.5 * env * chirp + 0.01 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def smiles():
    o = import_opensmile()
    return {
        "egemaps_lld": o.Smile(feature_set=o.FeatureSet.eGeMAPSv02,
                               feature_level=o.FeatureLevel.LowLevelDescriptors),
        "egemaps_func": o.Smile(feature_set=o.FeatureSet.eGeMAPSv02,
                                feature_level=o.FeatureLevel.Functionals),
        "gemaps_func": o.Smile(feature_set=o.FeatureSet.GeMAPSv01b,
                               feature_level=o.FeatureLevel.Functionals),
    }


CLASSES = {"egemaps_lld": (EGeMAPSLLD, 25, "sequence"),
           "egemaps_func": (EGeMAPSFunc, 88, "vector"),
           "gemaps_func": (GeMAPSFunc, 62, "vector")}


@pytest.mark.parametrize("name", list(CLASSES))
def test_interface(name):
    cls, dim, rank = CLASSES[name]
    f = cls()
    assert isinstance(f, AudioFeature)
    assert f.name == name and f.dim == dim and f.rank == rank and f.group == GROUP
    d = f.describe()
    assert d["dim"] == dim and d["rank"] == rank and d["feature_set"] == name
    assert len(d["feature_names"]) == dim == len(f.feature_names)
    assert set(d["versions"]) == {"opensmile"}
    if rank == "sequence":
        assert d["frame_shift_s"] == 0.01
    out = f.extract(_speechlike(20000))
    assert out.dtype == np.float32
    assert out.shape == ((expected_lld_frames(20000), dim) if rank == "sequence" else (dim,))


@pytest.mark.parametrize("n", [0, 1, 500, 959, 960, 1600, 2000, 8000, 16000, 16161, 33333])
def test_shapes(n):
    g = EGeMAPSLLD().extract_group(_speechlike(n))
    assert set(g) == {"egemaps_lld", "egemaps_func", "gemaps_func"}
    assert g["egemaps_lld"].shape == (expected_lld_frames(n), 25)
    assert g["egemaps_func"].shape == (88,) and g["gemaps_func"].shape == (62,)
    assert all(np.isfinite(v).all() for v in g.values())


def test_expected_frames_formula():
    assert expected_lld_frames(16000) == 96 and expected_lld_frames(0) == 6
    assert expected_lld_frames(960, 960) == 2 and expected_lld_frames(1119, 960) == 2


@pytest.mark.parametrize("n, seed", [(16000, 0), (37123, 1), (2000, 2)])
def test_golden_equal_to_opensmile_smile(smiles, n, seed):
    x = _speechlike(n, seed)
    g = EGeMAPSFunc().extract_group(x)
    for name, smile in smiles.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = smile.process_signal(x, SR)
        assert list(ref.columns) == list(CLASSES[name][0]().feature_names)
        ref = ref.values.astype(np.float32)
        if CLASSES[name][2] == "vector":
            ref = ref[0]
        np.testing.assert_array_equal(g[name], ref)


def test_noise_and_silence_golden(smiles):
    rng = np.random.default_rng(5)
    for x in (0.2 * rng.standard_normal(24000).astype(np.float32), np.zeros(24000, np.float32)):
        g = GeMAPSFunc().extract_group(x)
        for name in ("egemaps_func", "gemaps_func"):
            ref = smiles[name].process_signal(x, SR).values.astype(np.float32)[0]
            np.testing.assert_array_equal(g[name], ref)


def test_one_pass_equals_separate_extracts():
    x = _speechlike(30000, 3)
    g = EGeMAPSLLD().extract_group(x)
    for name, (cls, _, _) in CLASSES.items():
        np.testing.assert_array_equal(cls().extract(x), g[name])
    # and repeated calls on one (reset) handle give the same numbers
    f = EGeMAPSFunc()
    a = f.extract(x)
    f.extract(_speechlike(7000, 9))
    np.testing.assert_array_equal(f.extract(x), a)


def test_pickling_and_float_input():
    f = EGeMAPSFunc()
    x = _speechlike(20000)
    a = f.extract(x)
    g = pickle.loads(pickle.dumps(f))
    assert "_smile_cache" not in g.__dict__
    np.testing.assert_array_equal(g.extract(x), a)
    fl = EGeMAPSFunc(int16_input=False).extract(x)
    assert fl.shape == (88,) and np.isfinite(fl).all()
    assert not np.array_equal(fl, a)
    # close: float input differs only by quantisation effects
    assert np.nanmedian(np.abs(fl - a) / (np.abs(a) + 1e-3)) < 1e-2


def test_config_change_changes_describe():
    assert EGeMAPSLLD().describe() != EGeMAPSLLD(int16_input=False).describe()
    assert EGeMAPSLLD().describe()["config"] != EGeMAPSLLD(min_samples=3200).describe()["config"]
    assert EGeMAPSLLD().describe() == EGeMAPSLLD().describe()
    with pytest.raises(ValueError):
        EGeMAPSLLD(min_samples=500)
    with pytest.raises(ValueError):
        EGeMAPSLLD().extract(np.zeros((2, 100), np.float32))


def test_saturation_not_wraparound():
    x = _speechlike(16000)
    x[100:200] = 1.5
    g = EGeMAPSFunc().extract(x)
    assert np.isfinite(g).all()
