"""MMFA-RNN (ho2020) and its unimodal variants, the zoo registry and the zoo's custom layers.

    .venv/bin/python -m pytest -q tests/test_models_mmfa.py
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from model_checks import (check_padding_out_of_training_statistics, make_samples,
                          pad_batch, run_model_checks)
from ser_keras import models
from ser_keras.config import ConfigError
from ser_keras.layers import (
    FusionMultiHeadAttention,
    MaskedGlobalAveragePooling1D,
    MaskedResample,
    MultiplicativeSelfAttention,
    fast_gelu,
    linear_resample,
)
from ser_keras.models import mmfa
from ser_keras.models.mmfa import MMFAConfig

MMFA_NAMES = ("mmfa", "mmfa-audio", "mmfa-text")
# Tiny dims: audio GRU 2 * 3 = 6 units, text GRU 16 / 4 = 4 units, fusion 2 heads of 2.
# No rank given: a missing rank means "sequence" (the spec of older callers).
TINY_SPEC = {"inputs": {"audio": {"dim": 3}, "text": {"dim": 16}}, "num_classes": 3}
TINY_CONFIG = {"head_units": [8, 8]}
# Regression: three continuous targets (valence, arousal, dominance), linear output.
TINY_VALUES_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 3},
                               "text": {"rank": "sequence", "dim": 16}},
                    "num_outputs": 3, "output": "values"}
PAPER_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 39},
                         "text": {"rank": "sequence", "dim": 768}}, "num_classes": 4}
MINILM_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 39},
                          "text": {"rank": "sequence", "dim": 384}}, "num_classes": 4}
ZOO = Path(__file__).resolve().parent.parent / "ser_keras"
ZOO_SOURCES = [ZOO / "layers", ZOO / "models"]
ZOO_FAMILIES = [ZOO / "models" / "mmfa", ZOO / "models" / "mlp"]  # scanned as part of models/


def _np(x):
    return keras.ops.convert_to_numpy(x)


# --------------------------------------------------------------------------------------------
# Every variant through the shared checks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MMFA_NAMES)
def test_mmfa_variants_pass_shared_model_checks(name, tmp_path):
    run_model_checks(name, TINY_SPEC, TINY_CONFIG, tmp_path)


def test_mmfa_regresses_when_the_spec_asks_for_values(tmp_path):
    # build / act: the shared checks with an MSE fit step
    model = run_model_checks("mmfa", TINY_VALUES_SPEC, TINY_CONFIG, tmp_path)

    # assertions: a linear float32 head of three values
    head = model.get_layer("predictions")
    assert head.units == 3
    assert head.activation is keras.activations.linear
    assert head.dtype_policy.name == "float32"


@pytest.mark.parametrize("name, inputs", [
    ("mmfa", ["audio", "audio_mask", "text", "text_mask"]),
    ("mmfa-audio", ["audio", "audio_mask"]),
    ("mmfa-text", ["text", "text_mask"]),
])
def test_variant_input_names(name, inputs):
    # build
    model = models.build_model(name, TINY_SPEC, TINY_CONFIG)

    # assertions
    assert sorted(t.name for t in model.inputs) == inputs
    assert model.modalities == models.get_entry(name).input_names
    assert model.get_layer("predictions").activation is keras.activations.softmax
    assert model.get_layer("predictions").dtype_policy.name == "float32"


# ho2020 App. A dims; counts computed with this builder, then pinned (no count in the paper).
@pytest.mark.parametrize("spec, expected", [
    (PAPER_SPEC, {"mmfa": 755_468, "mmfa-audio": 47_851, "mmfa-text": 616_933}),
    (MINILM_SPEC, {"mmfa": 232_652, "mmfa-audio": 47_851, "mmfa-text": 164_773}),
])
def test_parameter_counts_are_pinned(spec, expected):
    # build
    counts = {name: models.build_model(name, spec).count_params() for name in expected}

    # assertions
    assert counts == expected


def test_gru_widths_follow_app_a_factors():
    # build
    paper = models.build_model("mmfa", PAPER_SPEC)
    minilm = models.build_model("mmfa", MINILM_SPEC)

    # assertions: ho2020 Eqs. (5)-(6), f_a = 2, f_w = 4
    assert paper.get_layer("audio_gru").units == 78
    assert paper.get_layer("text_gru").units == 192
    assert minilm.get_layer("text_gru").units == 96
    assert paper.get_layer("fusion_attention").output.shape[-1] == 192
    assert paper.get_layer("audio_gru").recurrent_dropout == pytest.approx(0.3)
    assert paper.get_layer("audio_gru").kernel_regularizer.l2 == pytest.approx(1e-4)
    assert paper.get_layer("fusion_attention").kernel_regularizer.l2 == pytest.approx(1e-3)
    assert [paper.get_layer(f"head_dense_{i}").units for i in (0, 1)] == [80, 80]


def test_fusion_units_sets_the_fusion_width():
    # build: default = the text GRU width (16 / 4 = 4); 6 = 2 heads of 3
    default = models.build_model("mmfa", TINY_SPEC, TINY_CONFIG)
    wider = models.build_model("mmfa", TINY_SPEC, {**TINY_CONFIG, "fusion_units": 6})

    # act
    probs = _np(wider(pad_batch(TINY_SPEC, make_samples(TINY_SPEC)), training=False))

    # assertions
    assert default.get_layer("fusion_attention").output.shape[-1] == 4
    assert wider.get_layer("fusion_attention").output.shape[-1] == 6
    assert tuple(wider.get_layer("fusion_attention").output_kernel.shape) == (2, 3, 6)
    assert np.all(np.isfinite(probs))


@pytest.mark.parametrize("text_length", [1, 2])
def test_short_transcripts_work(text_length):
    # build
    model = models.build_model("mmfa", TINY_SPEC, TINY_CONFIG)
    samples = make_samples(TINY_SPEC, ("audio", "text"), lengths=(6, text_length))
    for features, _ in samples:
        features["text"] = features["text"][:text_length]

    # act
    probs = _np(model(pad_batch(TINY_SPEC, samples), training=False))

    # assertions
    assert pad_batch(TINY_SPEC, samples)["text"].shape[1] == text_length
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", MMFA_NAMES)
def test_padding_never_enters_training_statistics(name):
    # dropout off, so training mode is deterministic (BatchNorm uses batch statistics)
    check_padding_out_of_training_statistics(
        name, TINY_SPEC, {**TINY_CONFIG, "dropout": 0.0, "recurrent_dropout": 0.0})


# --------------------------------------------------------------------------------------------
# Registry and config
# --------------------------------------------------------------------------------------------
def test_registry_entries():
    # act
    entries = {name: models.get_entry(name) for name in MMFA_NAMES}

    # assertions
    assert set(MMFA_NAMES) <= set(models.available())
    assert models.available() == sorted(models.available())
    assert entries["mmfa"].input_names == ("audio", "text")
    assert entries["mmfa-audio"].input_names == ("audio",)
    assert entries["mmfa-text"].input_names == ("text",)
    for name, entry in entries.items():
        assert entry.name == name
        assert entry.paper == "ho2020"
        assert entry.config_class is MMFAConfig
        assert entry.builder is entries["mmfa"].builder  # one builder, three configurations
        assert entry.paper_num_classes == 4
        assert entry.training == entries["mmfa"].training  # one recipe, App. A
    audio, text = entries["mmfa"].inputs
    assert (audio.name, audio.rank, audio.default, audio.paper_dim) == (
        "audio", "sequence", "mfcc39_smile", 39)
    assert (text.name, text.rank, text.default, text.paper_dim) == (
        "text", "sequence", "bert_tokens", 768)
    assert entries["mmfa"].decl("text") is text
    assert audio.tensor_names == ("audio", "audio_mask")


def test_paper_spec_is_app_a_dims():
    # act
    specs = {name: models.paper_spec(name) for name in MMFA_NAMES}

    # assertions
    assert specs["mmfa"] == PAPER_SPEC
    assert specs["mmfa-audio"] == {"inputs": {"audio": {"rank": "sequence", "dim": 39}},
                                   "num_classes": 4}
    assert specs["mmfa-text"] == {"inputs": {"text": {"rank": "sequence", "dim": 768}},
                                  "num_classes": 4}


def test_training_recipe_is_app_a():
    # act
    recipe = models.get_entry("mmfa").training_config()

    # assertions: ho2020 App. A: SGD, lr 1e-3, decay 1e-6, cross entropy
    assert (recipe.optimizer.name, recipe.optimizer.options) == ("sgd", {"momentum": 0.0})
    assert recipe.learning_rate == pytest.approx(1e-3)
    assert recipe.schedule.name == "inverse_time"
    assert recipe.schedule.options == {"decay_steps": 1, "decay_rate": 1e-6}
    assert (recipe.loss.name, recipe.loss.class_weights) == ("cross_entropy", None)
    assert (recipe.epochs, recipe.batch_size, recipe.patience) == (100, 32, 20)
    assert recipe.selection_metric == "accuracy"


def test_vector_input_is_refused_naming_it():
    # build: utterance-level features where MMFA wants frames
    spec = {"inputs": {"audio": {"rank": "vector", "dim": 88}}, "num_classes": 4}

    # act / assertions
    with pytest.raises(ConfigError, match="input 'audio' is given as rank 'vector'; "
                                          "the model wants rank 'sequence'"):
        models.build_model("mmfa-audio", spec)


def test_build_mmfa_refuses_inputs_it_does_not_know():
    # build
    registry = models.Registry()
    registry.add(models.ModelEntry(
        name="mmfa-video", builder=mmfa.build_mmfa, config_class=MMFAConfig,
        inputs=(models.InputDecl("video", "sequence", default="frames"),), paper="ho2020"))

    # act / assertions
    with pytest.raises(ValueError, match="subset of"):
        registry.build_model("mmfa-video", {"inputs": {"video": {"dim": 4}}, "num_classes": 2})


def test_unknown_model_lists_known_ones():
    with pytest.raises(models.UnknownModelError, match="known models: .*mmfa-audio"):
        models.get_entry("mmfa-video")
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        models.build_model("nope", TINY_SPEC)


def test_duplicate_name_raises():
    # build
    registry = models.Registry()
    entry = models.get_entry("mmfa")
    registry.add(entry)

    # act / assertions
    with pytest.raises(models.DuplicateModelError, match="'mmfa' is registered twice"):
        registry.add(entry)
    assert registry.available() == ["mmfa"]
    assert "mmfa" in registry and len(registry) == 1


def test_entry_defaults_apply_under_caller_config():
    # build
    registry = models.Registry()
    registry.add(models.ModelEntry(
        name="tiny", builder=models.get_entry("mmfa").builder, config_class=MMFAConfig,
        inputs=(mmfa.AUDIO_INPUT,), paper="ho2020",
        defaults={"head_units": [4], "dropout": 0.1}))

    # act
    model = registry.build_model("tiny", TINY_SPEC, {"dropout": 0.2})

    # assertions
    assert model.head_units == (4,)
    assert model.dropout == pytest.approx(0.2)


def test_config_from_dict_rejects_unknown_keys_and_converts_yaml_values():
    # act
    config = MMFAConfig.from_dict({"gru_l2": "1e-4", "head_units": [16, 8], "num_heads": 4.0})

    # assertions
    assert config.gru_l2 == pytest.approx(1e-4)
    assert config.head_units == (16, 8)
    assert config.num_heads == 4
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['gru_unit', 'heads'\]"):
        MMFAConfig.from_dict({"gru_unit": 3, "heads": 2})
    with pytest.raises(ConfigError, match="num_heads: expected an integer"):
        MMFAConfig.from_dict({"num_heads": "two"})


@pytest.mark.parametrize("overrides, message", [
    ({"dropout": 1.0}, "dropout"),
    ({"num_heads": 3, "fusion_units": 8}, "fusion_units"),
    ({"audio_gru_factor": 0}, "audio_gru_factor"),
    ({"head_units": [8, 0]}, "head_units"),
])
def test_config_validate(overrides, message):
    with pytest.raises(ConfigError, match=message):
        models.build_model("mmfa", TINY_SPEC, overrides)


def test_config_instance_and_defaults_are_app_a():
    # act
    default = models.get_entry("mmfa").default_config()
    model = models.build_model("mmfa-audio", TINY_SPEC, MMFAConfig(head_units=(8,)))

    # assertions
    assert default == MMFAConfig()
    assert (default.audio_gru_factor, default.text_gru_factor) == (2.0, 4.0)
    assert (default.gru_l2, default.recurrent_dropout) == (1e-4, 0.3)
    assert (default.num_heads, default.fusion_l2) == (2, 1e-3)
    assert (default.head_units, default.dropout) == ((80, 80), 0.3)
    assert model.head_units == (8,)


def test_input_spec_errors_name_the_problem():
    with pytest.raises(ConfigError, match=r"lacks \['text'\]"):
        models.build_model("mmfa", {"inputs": {"audio": {"dim": 3}}, "num_classes": 3})
    with pytest.raises(ConfigError, match="num_classes"):
        models.build_model("mmfa-audio", {"inputs": {"audio": {"dim": 3}}, "num_classes": 1})
    with pytest.raises(ConfigError, match="audio.dim"):
        models.build_model("mmfa-audio", {"inputs": {"audio": {"dim": 0}}, "num_classes": 3})


def test_zoo_sources_do_not_use_tensorflow():
    # act
    offenders = []
    for folder in ZOO_SOURCES:
        for path in sorted(folder.rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\btf\.|\bimport tensorflow|\bfrom tensorflow", line):
                    offenders.append(f"{path.name}:{number}: {line.strip()}")

    # assertions
    assert [p for p in ZOO_SOURCES + ZOO_FAMILIES if not list(p.rglob("*.py"))] == []
    assert all(ZOO_SOURCES[1] in p.parents for p in ZOO_FAMILIES)
    assert offenders == []


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------
def test_fast_gelu_values():
    # build: ho2020 Eq. (7), values worked out by hand
    x = np.array([-2.0, -1 / 1.702, -0.5, 0.0, 0.5, 1 / 1.702, 2.0], "float32")
    expected = [0.0, 0.0, -0.5 * 0.0745, 0.0, 0.5 * 0.9255, 1 / 1.702, 2.0]

    # act
    y = _np(fast_gelu(x))

    # assertions
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert keras.activations.serialize(fast_gelu) is not None
    assert keras.activations.get(keras.activations.serialize(fast_gelu)) is fast_gelu


def test_linear_resample_hand_made_example():
    # build: sample 0 text [[0], [1]] (2 valid, 2 padded with junk) onto 3 of 4 audio frames;
    # sample 1 text [[0], [1], [2], [3], [4]] onto 3 frames; sample 2 one token onto 2 frames.
    text = np.array([[[0], [1], [9], [9], [9]],
                     [[0], [1], [2], [3], [4]],
                     [[5], [9], [9], [9], [9]]], "float32")
    text_mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], "float32")
    audio_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 0, 0]], "float32")

    # act
    out = _np(linear_resample(text, text_mask, audio_mask))
    layer_out = _np(MaskedResample()(text, text_mask, audio_mask))

    # assertions: align-corners, padded frames zero
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.5, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[1, :, 0], [0.0, 2.0, 4.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[2, :, 0], [5.0, 5.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(layer_out, out)


def test_masked_global_average_pooling():
    # build
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [0, 0, 0]], "float32")

    # act
    out = _np(MaskedGlobalAveragePooling1D()(x, mask=mask))

    # assertions: mean of valid steps; no valid step gives zeros, not NaN
    np.testing.assert_allclose(out, [[1.0, 2.0], [0.0, 0.0]])


def _softmax(scores, valid):
    scores = np.where(valid, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_self_attention_matches_equations_1_to_3():
    # build
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], "float32")
    layer = MultiplicativeSelfAttention()
    layer.build(x.shape)
    layer.bias.assign([0.7])
    w = _np(layer.kernel)

    # act
    out = _np(layer(x, mask=mask))

    # assertions: e = x W x^T + b, softmax over valid t', l = a x; zero at padded t
    for b in range(2):
        scores = x[b] @ w @ x[b].T + 0.7
        expected = _softmax(scores, mask[b][None, :] > 0) @ x[b] * mask[b][:, None]
        np.testing.assert_allclose(out[b], expected, atol=1e-5)


def test_fusion_attention_matches_equation_4():
    # build
    rng = np.random.default_rng(1)
    audio = rng.normal(size=(2, 5, 3)).astype("float32")
    text = rng.normal(size=(2, 3, 4)).astype("float32")
    audio_mask = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], "float32")
    text_mask = np.array([[1, 1, 0], [1, 1, 1]], "float32")
    layer = FusionMultiHeadAttention(num_heads=2, units=4)
    layer(audio, text, audio_mask=audio_mask, text_mask=text_mask)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    wq, wk, wv, wo = (_np(getattr(layer, f"{n}_kernel")) for n in ("query", "key", "value",
                                                                  "output"))
    bq, bk, bv, bo = (_np(getattr(layer, f"{n}_bias")) for n in ("query", "key", "value",
                                                                "output"))

    # act
    out = _np(layer(audio, text, audio_mask=audio_mask, text_mask=text_mask))

    # assertions: a per-sample, per-head reference of Eq. (4), R = np.interp (align-corners)
    for b in range(2):
        la, lw = int(audio_mask[b].sum()), int(text_mask[b].sum())
        a, t = audio[b, :la], text[b, :lw]
        heads = []
        for h in range(2):
            q, k = a @ wq[:, h] + bq[h], a @ wk[:, h] + bk[h]
            v = t @ wv[:, h] + bv[h]  # (lw, d)
            grid = np.linspace(0, lw - 1, la)
            v = np.stack([np.interp(grid, np.arange(lw), v[:, j]) for j in range(2)], axis=1)
            heads.append(_softmax(q @ k.T / math.sqrt(2), np.ones((la, la), bool)) @ v)
        expected = np.einsum("qhk,hku->qu", np.stack(heads, axis=1), wo) + bo
        np.testing.assert_allclose(out[b, :la], expected, atol=1e-4)
        np.testing.assert_array_equal(out[b, la:], 0.0)
