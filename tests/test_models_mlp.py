"""The generic ``mlp`` baseline, and the registry's input ranks (vector, tokens) and specs.

    .venv/bin/python -m pytest -q tests/test_models_mlp.py
"""
from __future__ import annotations

import keras
import numpy as np
import pytest

from model_checks import VOCABULARY_SIZE, make_samples, pad_batch, run_model_checks
from ser_keras import models
from ser_keras.errors import ConfigError
from ser_keras.layers import MaskedGlobalAveragePooling1D
from ser_keras.models.mlp import MLP, MLPConfig

TINY_SPEC = {"inputs": {"audio": {"rank": "vector", "dim": 6}}, "num_classes": 3}
TINY_CONFIG = {"hidden_units": [8, 4]}
TINY_VALUES_SPEC = {"inputs": {"audio": {"rank": "vector", "dim": 6}},
                    "num_outputs": 2, "output": "values"}
EGEMAPS_SPEC = {"inputs": {"audio": {"rank": "vector", "dim": 88,
                                     "feature_sets": ["egemaps_func"]}}, "num_classes": 4}


def _np(x):
    return keras.ops.convert_to_numpy(x)


# --------------------------------------------------------------------------------------------
# mlp through the shared checks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, config", [
    (TINY_SPEC, TINY_CONFIG),
    (TINY_SPEC, {**TINY_CONFIG, "input_norm": False, "batch_norm": False, "activation": "tanh"}),
    (TINY_VALUES_SPEC, TINY_CONFIG),
], ids=["default", "no-batch-norm", "values"])
def test_mlp_passes_shared_model_checks(spec, config, tmp_path):
    run_model_checks("mlp", spec, config, tmp_path)


def test_mlp_layers_follow_the_config():
    # build
    model = models.build_model("mlp", TINY_SPEC, TINY_CONFIG)
    plain = models.build_model("mlp", TINY_SPEC, {**TINY_CONFIG, "input_norm": False,
                                                  "batch_norm": False})
    values = models.build_model("mlp", TINY_VALUES_SPEC, TINY_CONFIG)

    # assertions
    assert isinstance(model, MLP)
    assert [t.name for t in model.inputs] == ["audio"]
    assert [model.get_layer(f"hidden_dense_{i}").units for i in (0, 1)] == [8, 4]
    assert model.get_layer("hidden_dense_0").use_bias is False  # BatchNorm's beta shifts
    assert model.get_layer("hidden_dense_0").kernel_regularizer.l2 == pytest.approx(1e-2)
    assert model.get_layer("hidden_dropout_1").rate == pytest.approx(0.5)
    assert model.get_layer("predictions").activation is keras.activations.softmax
    assert {"input_norm", "hidden_norm_0", "hidden_norm_1"} <= {l.name for l in model.layers}
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in plain.layers)
    assert plain.get_layer("hidden_dense_0").use_bias is True
    assert values.get_layer("predictions").activation is keras.activations.linear
    assert values.output.shape == (None, 2)


# 88 eGeMAPS functionals -> 4 classes, default config. Counted by hand:
#   input BatchNorm        4 * 88            =    352  (gamma, beta + moving mean, variance)
#   Dense 88 -> 64         88 * 64           =  5,632  (no bias: BatchNorm follows)
#   BatchNorm 64           4 * 64            =    256
#   Dense 64 -> 4          64 * 4 + 4        =    260
#   total                                       6,500
#   non-trainable (moving mean, variance)  2 * (88 + 64) = 304; trainable 6,196
def test_parameter_count_is_pinned():
    # build
    model = models.build_model("mlp", EGEMAPS_SPEC)

    # act
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    # assertions
    assert model.count_params() == 6_500
    assert trainable == 6_196
    assert model.count_params() - trainable == 304


def test_mlp_learns_a_separable_problem():
    # build: 4 Gaussian classes in 20 dims, half the features on a scale 1000 times larger and
    # offset (like eGeMAPS' Hz beside ratios); 300 training and 100 held-out samples (the
    # nearest class mean gets all 100 right; 20 epochs reach it, 10 do not always)
    rng = np.random.default_rng(0)
    means = rng.normal(size=(4, 20)) * 1.5
    scale = np.where(np.arange(20) < 10, 1.0, 1000.0)
    offset = np.where(np.arange(20) < 10, 0.0, 5000.0)
    labels = np.arange(400) % 4
    x = ((means[labels] + rng.normal(size=(400, 20))) * scale + offset).astype("float32")
    spec = {"inputs": {"audio": {"rank": "vector", "dim": 20}}, "num_classes": 4}
    keras.utils.set_random_seed(0)
    model = models.build_model("mlp", spec)
    recipe = models.get_entry("mlp").training_config()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=recipe.learning_rate),
                  loss="sparse_categorical_crossentropy", jit_compile=False)

    # act
    model.fit({"audio": x[:300]}, labels[:300], epochs=20, batch_size=recipe.batch_size,
              verbose=0)
    predicted = model.predict({"audio": x[300:]}, verbose=0).argmax(axis=1)

    # assertions
    assert np.mean(predicted == labels[300:]) >= 0.9


# --------------------------------------------------------------------------------------------
# Registry entry, config and recipe
# --------------------------------------------------------------------------------------------
def test_registry_entry():
    # act
    entry = models.get_entry("mlp")

    # assertions
    assert entry.paper == "generic"
    assert entry.input_names == ("audio",)
    (audio,) = entry.inputs
    assert (audio.rank, audio.default, audio.paper_dim, audio.feeds) == (
        "vector", "egemaps_func", 88, ())
    assert audio.tensor_names == ("audio",)
    assert str(audio) == "audio:vector=egemaps_func"
    assert entry.config_class is MLPConfig
    assert models.paper_spec("mlp") == {"inputs": {"audio": {"rank": "vector", "dim": 88}},
                                        "num_classes": 4}


def test_training_recipe_is_generic_adam():
    # act
    recipe = models.get_entry("mlp").training_config()

    # assertions
    assert recipe.optimizer.name == "adam"
    assert recipe.learning_rate == pytest.approx(1e-3)
    assert recipe.schedule.name == "none"
    assert (recipe.loss.name, recipe.loss.class_weights) == ("cross_entropy",
                                                             "inverse_frequency")
    assert (recipe.epochs, recipe.batch_size, recipe.patience) == (100, 32, 20)
    assert recipe.selection_metric == "balanced_accuracy"


def test_config_defaults_and_yaml_values():
    # act
    default = models.get_entry("mlp").resolve_config()
    config = models.get_entry("mlp").resolve_config({"hidden_units": [64], "l2": "0",
                                                     "dropout": "0.1"})

    # assertions
    assert default == MLPConfig()
    assert (default.hidden_units, default.dropout, default.activation) == ((64,), 0.5,
                                                                           "relu")
    assert (default.input_norm, default.l2, default.batch_norm) == (True, 1e-2, True)
    assert (config.hidden_units, config.l2, config.dropout) == ((64,), 0.0, 0.1)


@pytest.mark.parametrize("overrides, message", [
    ({"dropout": 1.0}, "mlp.dropout"),
    ({"hidden_units": [8, 0]}, "mlp.hidden_units"),
    ({"l2": -1}, "mlp.l2"),
    ({"activation": "relux"}, "mlp.activation: 'relux' is not a Keras activation"),
    ({"hidden": [8]}, r"unknown key\(s\) \['hidden'\]"),
    ({"input_norm": "yes"}, "input_norm: expected true or false"),
])
def test_config_errors_name_the_field(overrides, message):
    with pytest.raises(ConfigError, match=message):
        models.build_model("mlp", TINY_SPEC, overrides)


@pytest.mark.parametrize("spec", [
    {"inputs": {"audio": {"rank": "sequence", "dim": 88}}, "num_classes": 4},
    {"inputs": {"audio": {"dim": 88}}, "num_classes": 4},  # no rank: a sequence input
], ids=["sequence", "no-rank"])
def test_wrong_rank_is_refused_naming_the_input(spec):
    with pytest.raises(ConfigError, match="model 'mlp': input 'audio' is given as rank "
                                          "'sequence'; the model wants rank 'vector'"):
        models.build_model("mlp", spec)


# --------------------------------------------------------------------------------------------
# Input ranks and specs (registry rules every model shares)
# --------------------------------------------------------------------------------------------
def _build_bag_of_tokens(spec, config, entry):
    """A toy tokens model: mean of token + segment embeddings over the padding mask."""
    (decl,) = entry.inputs
    ids, padding, segments = (keras.Input(shape=(None,), dtype="int32", name=n)
                              for n in decl.tensor_names)
    x = (keras.layers.Embedding(VOCABULARY_SIZE, 4, name="token_embedding")(ids)
         + keras.layers.Embedding(2, 4, name="segment_embedding")(segments))  # (batch, L, 4)
    x = MaskedGlobalAveragePooling1D(name="pooling")(x, mask=padding)  # (batch, 4)
    outputs = models.output_layer(spec)(x)
    return keras.Model(dict(zip(decl.tensor_names, (ids, padding, segments))), outputs,
                       name=entry.name)


def _tokens_registry():
    registry = models.Registry()
    registry.add(models.ModelEntry(
        name="bag-of-tokens", builder=_build_bag_of_tokens, config_class=models.ModelConfig,
        inputs=(models.InputDecl("text", "tokens", default="transcript", dtype="int32"),),
        paper="generic", paper_num_classes=3))
    return registry


def test_tokens_input_passes_shared_model_checks(tmp_path):
    # build
    registry = _tokens_registry()
    spec = {"inputs": {"text": {"rank": "tokens", "length": None}}, "num_classes": 3}

    # act
    model = run_model_checks("bag-of-tokens", spec, None, tmp_path, registry=registry)
    batch = pad_batch(spec, make_samples(spec))

    # assertions
    assert sorted(batch) == ["text_padding_mask", "text_segment_ids", "text_token_ids"]
    assert all(a.dtype == np.int32 for a in batch.values())
    assert sorted(t.name for t in model.inputs) == sorted(batch)
    assert registry.paper_spec("bag-of-tokens") == {"inputs": {"text": {"rank": "tokens"}},
                                                    "num_classes": 3}


def test_input_spec_ranks_dims_and_outputs():
    # act
    classes = models.InputSpec.from_dict(EGEMAPS_SPEC)
    values = models.InputSpec.from_dict(
        {"inputs": {"audio": {"dim": 39}, "text": {"rank": "tokens", "length": 64}},
         "num_outputs": 3, "output": "values"})

    # assertions
    assert (classes.rank("audio"), classes.dim("audio")) == ("vector", 88)
    assert classes.feature_sets("audio") == ("egemaps_func",)
    assert (classes.output, classes.num_outputs, classes.num_classes) == ("classes", 4, 4)
    assert (values.rank("audio"), values.rank("text")) == ("sequence", "tokens")
    assert values.inputs["text"]["length"] == 64  # other keys are kept
    assert (values.output, values.num_outputs) == ("values", 3)
    assert models.InputSpec.from_dict(values.to_dict()) == values
    with pytest.raises(ConfigError, match="'values' output has no num_classes"):
        values.num_classes
    with pytest.raises(ConfigError, match="'text' is a tokens input; it has no dim"):
        values.dim("text")
    with pytest.raises(ConfigError, match=r"no 'video' input; have \['audio', 'text'\]"):
        values.rank("video")
    with pytest.raises(ConfigError, match="input_spec.output: 'scores' not in"):
        models.InputSpec(inputs={}, num_outputs=2, output="scores")


@pytest.mark.parametrize("spec, message", [
    ({"inputs": {"audio": {"rank": "matrix", "dim": 3}}, "num_classes": 2},
     "inputs.audio.rank: 'matrix' not in"),
    ({"inputs": {"text": {"rank": "tokens", "dim": 768}}, "num_classes": 2},
     "inputs.text: a tokens input has no dim"),
    ({"inputs": {"audio": {"rank": "vector"}}, "num_classes": 2}, "inputs.audio.dim"),
    ({"inputs": {}, "num_classes": 2, "classes": 2}, r"unknown key\(s\) \['classes'\]"),
    ({"inputs": {}, "num_outputs": 2, "output": "values", "num_classes": 2},
     "takes num_outputs, not num_classes"),
    ({"inputs": {}, "num_outputs": 2}, "takes num_classes, not num_outputs"),
    ({"inputs": {}, "num_outputs": 0, "output": "values"}, "num_outputs: expected an integer"),
    ({"inputs": {}, "num_classes": 2, "output": "scores"}, "output: 'scores' not in"),
    ({"num_classes": 2}, "input_spec: expected"),
])
def test_input_spec_errors_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message):
        models.InputSpec.from_dict(spec)


@pytest.mark.parametrize("kwargs, message", [
    ({"rank": "matrix"}, "rank 'matrix' not in"),
    ({"rank": "tokens"}, "a tokens input is int32"),
    ({"rank": "vector", "dtype": "int32"}, "a vector input is float32"),
    ({"rank": "tokens", "dtype": "int32", "paper_dim": 768}, "a tokens input has no dim"),
])
def test_input_decl_is_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        models.InputDecl("x", default="transcript", **kwargs)


def test_input_tensor_names_of_every_rank():
    assert models.input_tensor_names("a", "sequence") == ("a", "a_mask")
    assert models.input_tensor_names("a", "vector") == ("a",)
    assert models.input_tensor_names("t", "tokens") == ("t_token_ids", "t_padding_mask",
                                                        "t_segment_ids")
    with pytest.raises(ConfigError, match="rank 'matrix'"):
        models.input_tensor_names("a", "matrix")


def test_entry_refuses_feature_sets_it_does_not_feed_on():
    # build
    registry = models.Registry()
    registry.add(models.ModelEntry(
        name="gemaps-mlp", builder=models.get_entry("mlp").builder, config_class=MLPConfig,
        inputs=(models.InputDecl("audio", "vector", default="egemaps_func",
                                 feeds=("egemaps_func", "gemaps_func")),), paper="generic"))
    spec = {"inputs": {"audio": {"rank": "vector", "dim": 47,
                                 "feature_sets": ["mfcc39_mean", "prosody8"]}}, "num_classes": 4}

    # act
    model = registry.build_model("gemaps-mlp", EGEMAPS_SPEC, TINY_CONFIG)

    # assertions
    assert model.input_dim == 88
    with pytest.raises(ConfigError, match=r"input 'audio' does not take feature set\(s\) "
                                          r"\['mfcc39_mean', 'prosody8'\]"):
        registry.build_model("gemaps-mlp", spec)


def test_entry_refuses_clashing_input_names():
    with pytest.raises(ValueError, match="clashing model-input names"):
        models.ModelEntry(
            name="clash", builder=models.get_entry("mlp").builder, config_class=MLPConfig,
            inputs=(models.InputDecl("audio", "sequence", default="a"),
                    models.InputDecl("audio_mask", "vector", default="b")), paper="generic")


def test_every_entry_resolves_its_recipe_config_and_paper_spec():
    for name in models.available():
        # act
        entry = models.get_entry(name)

        # assertions
        entry.training_config()  # raises ConfigError on a bad recipe
        entry.resolve_config()
        assert models.InputSpec.from_dict(entry.paper_spec())
        assert entry.decl(entry.input_names[0]).name == entry.input_names[0]
    with pytest.raises(ConfigError, match=r"no input 'text'; its inputs: \['audio'\]"):
        models.get_entry("mlp").decl("text")


def test_output_layer_of_classes_and_values():
    # act
    classes = models.output_layer({"inputs": {}, "num_classes": 5})
    values = models.output_layer({"inputs": {}, "num_outputs": 2, "output": "values"},
                                 name="values")

    # assertions
    assert (classes.units, classes.name, classes.dtype_policy.name) == (5, "predictions",
                                                                        "float32")
    assert classes.activation is keras.activations.softmax
    assert (values.units, values.name) == (2, "values")
    assert values.activation is keras.activations.linear
