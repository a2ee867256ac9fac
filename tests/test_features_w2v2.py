"""w2v2_mean (frozen mean wav2vec 2.0 embeddings, alqurashi2024 Sec. II-B 2) on a tiny random
checkpoint and generated audio.

    .venv/bin/python -m pytest -q tests/test_features_w2v2.py
"""
import json
import pickle

import keras
import numpy as np
import pytest

from data_prep.errors import PrepareError
from data_prep.features import FEATURE_SETS, get_feature_set
from data_prep.features.w2v2 import W2V2Mean
from ser_keras.models import wav2vec2

TINY = {"hidden_size": 12, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 24, "conv_dim": [8, 8], "conv_kernel": [10, 3],
        "conv_stride": [5, 2], "num_conv_pos_embeddings": 4,
        "num_conv_pos_embedding_groups": 2}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    keras.utils.set_random_seed(3)
    backbone = wav2vec2.Wav2Vec2Backbone(TINY)
    return wav2vec2.save_checkpoint(backbone, tmp_path_factory.mktemp("w2v2") / "tiny")


def tone(seconds=0.25, rate=16000, seed=0):
    """A voiced-like test signal: a 220 Hz tone with harmonics and a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
    return (y + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def test_mean_of_the_chosen_layer(checkpoint):
    # build
    feature = get_feature_set("w2v2_mean", checkpoint=str(checkpoint))
    second = W2V2Mean(checkpoint=str(checkpoint), layer=1)
    backbone = wav2vec2.load_backbone(str(checkpoint))
    signal = tone()

    # extract
    last = feature.extract(signal)
    layer1 = second.extract(signal)
    encoded = backbone({"audio": signal[None, :, None],
                        "audio_mask": np.ones((1, signal.size), np.float32)})

    # assertions: (hidden,) float32, the frame mean of that layer
    assert FEATURE_SETS["w2v2_mean"] is W2V2Mean
    assert last.shape == (12,) and last.dtype == np.float32 and np.isfinite(last).all()
    np.testing.assert_allclose(last, np.mean(encoded["last_hidden_state"][0], axis=0),
                               atol=1e-5)
    np.testing.assert_allclose(layer1, np.mean(encoded["hidden_states"][1][0], axis=0),
                               atol=1e-5)
    assert not np.allclose(last, layer1)


def test_short_and_empty_signals(checkpoint):
    feature = W2V2Mean(checkpoint=str(checkpoint))
    for signal in (np.zeros(0, np.float32), tone(0.001)):   # empty; 16 samples < one frame
        vector = feature.extract(signal)
        assert vector.shape == (12,) and np.isfinite(vector).all()


def test_describe_records_the_checkpoint(checkpoint):
    # build
    d = W2V2Mean(checkpoint=str(checkpoint)).describe()
    d0 = W2V2Mean(checkpoint=str(checkpoint), layer=0).describe()

    # assertions: what the numbers depend on is in the metadata
    assert (d["feature_set"], d["rank"], d["dim"], d["modality"]) == ("w2v2_mean", "vector",
                                                                     12, "audio")
    assert d["config"]["checkpoint"] == str(checkpoint)
    assert len(d["config"]["checkpoint_sha256"]) == 64
    assert d["config"]["layer"] == -1 and d0["config"]["layer"] == 0
    assert d["config"]["normalize"] is True
    assert d["checkpoint_path"] == str(checkpoint.resolve())
    json.dumps(d)  # the store writes it as JSON


def test_pickled_for_workers_without_the_model(checkpoint):
    feature = W2V2Mean(checkpoint=str(checkpoint))
    expected = feature.extract(tone())          # loads the model here

    copy = pickle.loads(pickle.dumps(feature))  # what a worker process receives

    assert copy._loaded is None and copy._directory == str(checkpoint.resolve())
    np.testing.assert_allclose(copy.extract(tone()), expected, atol=1e-6)


def test_loading_errors_are_prepare_errors(checkpoint, tmp_path):
    with pytest.raises(PrepareError, match=r"w2v2_mean: .*no such directory"):
        W2V2Mean(checkpoint=str(tmp_path / "absent")).describe()
    with pytest.raises(PrepareError, match=r"w2v2_mean\.layer: 5 is not a hidden-states index"):
        W2V2Mean(checkpoint=str(checkpoint), layer=5).describe()


def test_ser_prepare_writes_the_set(checkpoint, release, tmp_path):
    """End to end through ``ser-prepare``, the checkpoint and layer given as feature options."""
    from data_prep import cli
    from ser_keras import store

    out = tmp_path / "store"

    assert cli.main(["iemocap", str(release), "--out", str(out), "--features", "w2v2_mean",
                     "--feature-option", f"w2v2_mean.checkpoint={checkpoint}",
                     "--feature-option", "w2v2_mean.layer=-1",
                     "--workers", "1", "--quiet"]) == 0

    vectors = store.open_feature_set(out, "iemocap", "w2v2_mean",
                                     expect={"dim": 12, "rank": "vector"}).to_dict()
    assert len(vectors) == 5
    assert all(v.shape == (12,) and np.isfinite(v).all() for v in vectors.values())
    metadata = json.loads((out / "iemocap" / "features" / "w2v2_mean" /
                           "metadata.json").read_text())
    assert metadata["config"]["checkpoint"] == str(checkpoint)


def test_a_bad_feature_option_is_a_one_line_error(release, tmp_path, capsys):
    from data_prep import cli

    for option, message in (("w2v2_mean.depth=3", "w2v2_mean: .*depth"),
                            ("mfcc39_mean.x=1", "mfcc39_mean not among the feature sets"),
                            ("w2v2_mean=3", "expected SET.KEY=VALUE")):
        assert cli.main(["iemocap", str(release), "--out", str(tmp_path / "s"), "--features",
                         "w2v2_mean", "--feature-option", option, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        import re
        assert re.search(message, err), err
