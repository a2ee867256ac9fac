"""triantafyllopoulos2022: CNN14, SFCNN14 and MFCNN14 (one builder), their entries and counts.

    .venv/bin/python -m pytest -q tests/test_models_cnn14.py
"""
from __future__ import annotations


import keras
import numpy as np
import pytest

from model_checks import (check_padding_out_of_training_statistics, make_samples,
                          pad_batch, run_model_checks)
from model_checks import numpy_of as _np
from model_checks import param_counts as _counts
from ser_keras import models
from ser_keras.cli import models as cli
from ser_keras.config import ConfigError, TrainingConfig
from ser_keras.models import cnn14

NAMES = ("cnn14", "sfcnn14", "mfcnn14")
TINY = {"width": 1 / 32}  # channels 2, 4, 8, 16, 32, 64; fc1 64
# 16 Mel bins (16 -> 8 -> 4 -> 2 -> 1 -> 1 -> 1 through the six poolings), a 6-dim text vector
CLASSES_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 16},
                           "text": {"rank": "vector", "dim": 6}}, "num_classes": 3}
VALUES_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 16},
                          "text": {"rank": "vector", "dim": 6}},
               "num_outputs": 3, "output": "values"}


# --------------------------------------------------------------------------------------------
# The shared checks (batch independence and padding invariance among them)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_models_pass_shared_model_checks(name, tmp_path):
    run_model_checks(name, CLASSES_SPEC, TINY, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_models_regress_when_the_spec_asks_for_values(name, tmp_path):
    # build / act: the shared checks with an MSE fit step
    model = run_model_checks(name, VALUES_SPEC, TINY, tmp_path)

    # assertions: a linear float32 head of three values
    head = model.get_layer("predictions")
    assert (head.units, head.activation) == (3, keras.activations.linear)
    assert head.dtype_policy.name == "float32"


@pytest.mark.parametrize("name", ["cnn14", "mfcnn14"])
def test_padding_never_enters_training_statistics(name):
    # dropout off, so training mode is deterministic (BatchNorm uses batch statistics)
    check_padding_out_of_training_statistics(
        name, CLASSES_SPEC, {**TINY, "block_dropout": 0.0, "head_dropout": 0.0}, extra=5)


# --------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------
def test_channels_and_layers_follow_the_paper():
    # build
    model = models.build_model("mfcnn14", CLASSES_SPEC, {"width": 0.125})
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]

    # assertions: 12 bias-free 3x3 convs, 2 per block, 6 2x2 max poolings, fc1 2048 * width
    assert model.channels == (8, 16, 32, 64, 128, 256)
    assert [c.filters for c in convs] == [c for c in model.channels for _ in (1, 2)]
    assert all(c.kernel_size == (3, 3) and c.strides == (1, 1) and not c.use_bias
               for c in convs)
    assert [(p.pool_size, p.strides, p.padding) for p in pools] == [((2, 2), (2, 2), "same")] * 6
    assert model.get_layer("fc1").units == 256
    assert [model.get_layer(f"block{b}_text_projection").units for b in range(1, 7)] == \
        list(model.channels)
    assert model.get_layer("block1_dropout").rate == 0.2
    assert model.get_layer("fc1_dropout").rate == 0.5


def test_width_rounds_and_never_reaches_zero():
    assert cnn14.scaled(64, 1 / 32) == 2
    assert cnn14.scaled(64, 1e-4) == 1
    assert cnn14.scaled(2048, 0.3) == 614


@pytest.mark.parametrize("name", NAMES)
def test_a_one_frame_utterance_goes_through(name):
    # build: the paper's 64 Mel bins, a tiny width
    spec = {"inputs": {"audio": {"rank": "sequence", "dim": 64},
                       "text": {"rank": "vector", "dim": 6}}, "num_classes": 4}
    model = models.build_model(name, spec, TINY)
    rng = np.random.default_rng(0)
    batch = {"audio": rng.normal(size=(2, 1, 64)).astype("float32"),
             "audio_mask": np.ones((2, 1), "float32"),
             "text": rng.normal(size=(2, 6)).astype("float32")}
    batch = {k: v for k, v in batch.items() if k in {t.name for t in model.inputs}}

    # act
    probs = _np(model(batch, training=False))

    # assertions
    assert probs.shape == (2, 4) and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("fused", ["sfcnn14", "mfcnn14"])
def test_fusions_equal_cnn14_when_the_projections_are_zero(fused):
    # build: a cnn14 and a fused model; the fused one gets cnn14's weights, zero projections
    # (linear outputs: an untrained tiny net's softmax is too close to uniform to compare)
    plain = models.build_model("cnn14", VALUES_SPEC, TINY)
    model = models.build_model(fused, VALUES_SPEC, TINY)
    for layer in plain.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    projections = [layer for layer in model.layers if layer.name.endswith("text_projection")]
    assert len(projections) == (1 if fused == "sfcnn14" else 6)
    for layer in projections:
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    samples = make_samples(VALUES_SPEC, ["audio", "text"])
    batch = pad_batch(VALUES_SPEC, samples)

    # act
    expected = _np(plain({k: batch[k] for k in ("audio", "audio_mask")}, training=False))
    got = _np(model(batch, training=False))

    # assertions: the same predictions; and with non-zero projections, different ones
    np.testing.assert_allclose(got, expected, atol=1e-6)
    for layer in projections:
        layer.set_weights([np.full_like(w, 0.5) for w in layer.get_weights()])
    assert not np.allclose(_np(model(batch, training=False)), expected, atol=1e-2)


# --------------------------------------------------------------------------------------------
# Entries, recipe, parameter counts
# --------------------------------------------------------------------------------------------
def test_entries_declare_the_papers_inputs_and_fusions():
    for name, fusion, inputs in (("cnn14", "none", ("audio",)),
                                 ("sfcnn14", "single", ("audio", "text")),
                                 ("mfcnn14", "multi", ("audio", "text"))):
        entry = models.get_entry(name)
        assert entry.paper == "triantafyllopoulos2022"
        assert entry.input_names == inputs
        assert entry.default_config().fusion == fusion
        assert entry.paper_num_classes == 4
        assert str(entry.decl("audio")) == "audio:sequence=logmel64"
        assert entry.decl("audio").paper_dim == 64
        if "text" in inputs:
            assert str(entry.decl("text")) == "text:vector=bert_mean"
            assert entry.decl("text").paper_dim == 768


def test_training_recipe_is_sec_4_2():
    recipe = models.get_entry("mfcnn14").training_config()
    assert isinstance(recipe, TrainingConfig)
    assert recipe.optimizer.name == "sgd"
    assert recipe.optimizer.options == {"momentum": 0.9, "nesterov": True}
    assert (recipe.learning_rate, recipe.epochs, recipe.batch_size) == (0.01, 60, 64)
    assert (recipe.loss.name, recipe.loss.class_weights) == ("cross_entropy",
                                                             "inverse_frequency")
    assert recipe.selection_metric == "balanced_accuracy" and recipe.patience is None


# (total, trainable, non-trainable) at the paper's spec (64 Mel bins, 768 text, 4 classes)
PINNED = {
    "cnn14": (79_698_244, 79_681_988, 16_256),
    "sfcnn14": (81_273_156, 81_256_900, 16_256),   # + 768 x 2048 + 2048
    "mfcnn14": (82_798_852, 82_782_596, 16_256),   # + 769 x (64 + 128 + ... + 2048)
}


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_at_width_1(name):
    # build (no training)
    model = models.build_model(name, models.paper_spec(name))

    # assertions
    assert _counts(model) == PINNED[name]


def test_cnn14_matches_panns_cnn14_parameters():
    # PANNs (Kong et al. 2020) Cnn14: 80,753,615 PyTorch parameters with its 527-class layer;
    # BatchNorm running statistics are PyTorch buffers, Keras' non-trainable weights.
    backbone = 80_753_615 - (2048 * 527 + 527)
    assert backbone == 79_673_792
    total, trainable, non_trainable = PINNED["cnn14"]
    assert trainable == backbone + 2048 * 4 + 4          # a 4-class head
    assert abs(trainable / backbone - 1) < 0.005          # ~79.7 M
    assert non_trainable == 2 * (64 + 2 * sum(cnn14.CHANNELS))
    assert total == trainable + non_trainable


def test_ser_models_compares_cnn14_with_panns(capsys):
    # act
    assert cli.main(["cnn14", "--json"]) == 0
    import json
    summary = json.loads(capsys.readouterr().out)

    # assertions
    assert summary["trainable_params"] == PINNED["cnn14"][1]
    assert summary["paper_params"]["trainable"] == 79_681_988
    assert all(abs(d) < 0.5 for d in summary["paper_params"]["difference_percent"].values())


# --------------------------------------------------------------------------------------------
# Config validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, field", [
    ({"fusion": "late"}, "cnn14.fusion"),
    ({"width": 0.0}, "cnn14.width"),
    ({"block_dropout": 1.0}, "cnn14.block_dropout"),
    ({"head_dropout": -0.1}, "cnn14.head_dropout"),
    ({"batch_norm_momentum": 1.5}, "cnn14.batch_norm_momentum"),
    ({"batch_norm_epsilon": 0.0}, "cnn14.batch_norm_epsilon"),
    ({"filters": 3}, "filters"),
])
def test_config_errors_name_the_field(overrides, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        models.build_model("mfcnn14", CLASSES_SPEC, overrides)


@pytest.mark.parametrize("name, fusion", [("cnn14", "multi"), ("sfcnn14", "none")])
def test_fusion_must_match_the_entrys_inputs(name, fusion):
    with pytest.raises(ConfigError, match="fusion"):
        models.build_model(name, CLASSES_SPEC, {"fusion": fusion})
