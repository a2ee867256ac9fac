"""triantafyllopoulos2022's fine-tuned BERT baseline (``bert-finetune``) on a tiny random BERT,
its optimizer (Adam without bias correction) against a NumPy reference, and one experiment cell
trained through ``run_job`` on a miniature corpus with transcripts.

    .venv/bin/python -m pytest -q tests/test_models_bert.py
"""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from fake_store import make_fake_store
from model_checks import make_samples, pad_batch, run_model_checks
from ser_keras import models
from ser_keras.errors import ConfigError
from ser_keras.experiment import experiment_from_dict
from ser_keras.models.bert import TRAINING, BertFinetune, BertFinetuneConfig, resolve_preset
from ser_keras.training import ExperimentData, run_job
from ser_keras.training.optimizers import AdamNoBiasCorrection
from ser_keras.training.recipe import build_optimizer
from tiny_bert import make_tiny_bert

CLASSES_SPEC = {"inputs": {"text": {"rank": "tokens", "length": None}}, "num_classes": 3}
VALUES_SPEC = {"inputs": {"text": {"rank": "tokens", "length": None}},
               "num_outputs": 2, "output": "values"}


def _np(x):
    return keras.ops.convert_to_numpy(x)


# --------------------------------------------------------------------------------------------
# the entry and the model
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [CLASSES_SPEC, VALUES_SPEC], ids=["classes", "values"])
def test_bert_finetune_passes_shared_model_checks(spec, tiny_bert, tmp_path):
    # act
    model = run_model_checks("bert-finetune", spec, {"preset": str(tiny_bert)}, tmp_path)

    # assertions: the backbone is fine-tuned, the head is the spec's
    assert isinstance(model, BertFinetune)
    assert model.backbone.trainable and model.backbone.trainable_weights
    head = model.get_layer("predictions")
    assert head.units == models.InputSpec.from_dict(spec).num_outputs
    assert head.activation is (keras.activations.softmax if spec is CLASSES_SPEC
                               else keras.activations.linear)


def test_entry_declares_the_transcript_and_the_papers_recipe():
    # act
    entry = models.get_entry("bert-finetune")
    training = entry.training_config()
    optimizer = build_optimizer(training, steps_per_epoch=10)
    rates = [float(_np(optimizer._learning_rate(step))) for step in (0, 50, 100, 550, 1000)]

    # assertions
    assert [str(d) for d in entry.inputs] == ["text:tokens=transcript"]
    assert entry.paper == "triantafyllopoulos2022" and entry.paper_num_classes == 4
    assert entry.default_config() == BertFinetuneConfig()
    assert resolve_preset("bert-base-uncased") == "hf://google-bert/bert-base-uncased"
    assert isinstance(optimizer, AdamNoBiasCorrection)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.999, 1e-6)
    assert optimizer.weight_decay is None
    np.testing.assert_allclose(rates, [0.0, 1e-5, 2e-5, 1e-5, 0.0], atol=1e-12)
    assert (training.epochs, training.batch_size, training.patience) == (4, 32, 1)
    assert training.selection_metric == "balanced_accuracy"
    assert training.loss.class_weights == "inverse_frequency"


def test_a_frozen_backbone_trains_the_final_layer_alone(tiny_bert):
    # act
    model = models.build_model("bert-finetune", CLASSES_SPEC,
                               {"preset": str(tiny_bert), "trainable": False})

    # assertions
    assert not model.backbone.trainable_weights
    assert [w.path for w in model.trainable_weights] == ["predictions/kernel",
                                                         "predictions/bias"]


@pytest.mark.parametrize("spec, loss", [(CLASSES_SPEC, "sparse_categorical_crossentropy"),
                                        (VALUES_SPEC, "mse")], ids=["classes", "values"])
def test_one_optimisation_step_lowers_the_loss(spec, loss, tiny_bert):
    # build
    keras.utils.set_random_seed(0)
    model = models.build_model("bert-finetune", spec, {"preset": str(tiny_bert)})
    samples = make_samples(spec, ["text"])
    x = pad_batch(spec, samples)
    y = np.stack([t for _, t in samples])
    model.compile(optimizer=AdamNoBiasCorrection(learning_rate=1e-3), loss=loss,
                  jit_compile=False)
    loss_fn = keras.losses.get(loss)

    def inference_loss():
        return float(_np(keras.ops.mean(loss_fn(y, model(x, training=False)))))

    before = inference_loss()
    backbone_before = [w.copy() for w in model.backbone.get_weights()]

    # act
    model.train_on_batch(x, y)

    # assertions: the loss fell and the backbone moved with the head
    assert inference_loss() < before
    assert all(not np.array_equal(b, a)
               for b, a in zip(backbone_before, model.backbone.get_weights()))


def test_a_preset_that_cannot_be_loaded_is_a_config_error_naming_it(tiny_bert, tmp_path):
    # build
    missing, empty = tmp_path / "no_such_bert", tmp_path / "empty"
    empty.mkdir()

    # act / assertions
    with pytest.raises(ConfigError, match=f"bert-finetune.preset '{missing}': no such directory"):
        models.build_model("bert-finetune", CLASSES_SPEC, {"preset": str(missing)})
    with pytest.raises(ConfigError) as err:
        models.build_model("bert-finetune", CLASSES_SPEC, {"preset": str(empty)})
    assert f"bert-finetune.preset '{empty}': cannot load a BERT backbone" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="max_tokens 128, but preset .* has 64 positions"):
        models.build_model("bert-finetune", {"inputs": {"text": {"rank": "tokens",
                                                                 "length": 128}},
                                             "num_classes": 3}, {"preset": str(tiny_bert)})
    with pytest.raises(ConfigError, match=r"bert-finetune.dropout: must be in \[0, 1\)"):
        models.get_entry("bert-finetune").resolve_config({"dropout": 1.0})


# --------------------------------------------------------------------------------------------
# Adam without bias correction
# --------------------------------------------------------------------------------------------
def _reference_steps(weights, gradients, lr, beta_1, beta_2, epsilon):
    """Hugging Face AdamW(correct_bias=False, weight_decay=0) in NumPy (float64)."""
    w = [np.asarray(v, np.float64) for v in weights]
    m = [np.zeros_like(v) for v in w]
    v = [np.zeros_like(x) for x in w]
    for grads in gradients:
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g ** 2
            w[i] = w[i] - lr * m[i] / (np.sqrt(v[i]) + epsilon)
    return w


def test_adam_without_bias_correction_matches_the_numpy_reference():
    # build
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3,)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")]
    gradients = [[rng.normal(size=w.shape).astype("float32") for w in start] for _ in range(5)]
    variables = [keras.Variable(w) for w in start]
    optimizer = keras.optimizers.get({"class_name": "ser_keras>AdamNoBiasCorrection",
                                      "config": {"learning_rate": 0.01, "beta_1": 0.9,
                                                 "beta_2": 0.999, "epsilon": 1e-6}})
    bias_corrected = [keras.Variable(w) for w in start]
    adam = keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-6)

    # act
    for grads in gradients:
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads],
                                      variables))
        adam.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads],
                                 bias_corrected))
    expected = _reference_steps(start, gradients, 0.01, 0.9, 0.999, 1e-6)

    # assertions: the reference, and not Keras' (bias-corrected) Adam; a config round trip
    assert isinstance(optimizer, AdamNoBiasCorrection)
    for var, ref, other in zip(variables, expected, bias_corrected):
        np.testing.assert_allclose(_np(var), ref, rtol=1e-5, atol=1e-6)
        assert not np.allclose(_np(other), ref, atol=1e-4)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is AdamNoBiasCorrection and again.get_config() == optimizer.get_config()


# --------------------------------------------------------------------------------------------
# an experiment cell, as a user runs it
# --------------------------------------------------------------------------------------------
def test_an_experiment_cell_fine_tunes_bert_on_transcripts(tmp_path_factory, tmp_path):
    # build: a miniature IEMOCAP store with transcripts; a tiny BERT with 128 positions
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap")
    checkpoint = make_tiny_bert(tmp_path_factory.mktemp("bert128"), positions=128)
    training = {**TRAINING, "epochs": 2, "batch_size": 16}
    exp = experiment_from_dict({
        "name": "test/bert", "paper": "triantafyllopoulos2022", "dataset": "iemocap",
        "data_dir": str(root), "class_set": "iemocap4", "protocol": "loso10",
        "cells": [{"id": "bert", "model": "bert-finetune", "inputs": {"text": "transcript"}}],
        "input_options": {"text": {"preprocessor": str(checkpoint), "max_tokens": 128}},
        "models": {"bert-finetune": {"preset": str(checkpoint)}},
        "training": training, "seeds": [0]})

    # act
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path, ExperimentData(exp),
                      log=lambda m: None)

    # assertions
    run = tmp_path / "test/bert/iemocap/bert/fold00-seed0"
    for name in ("metrics.json", "predictions.csv", "history.csv", "best.weights.h5"):
        assert (run / name).is_file(), name
    assert metrics["run"]["model"] == "bert-finetune"
    assert metrics["run"]["inputs"] == {"text": "transcript"}
    assert json.loads((run / "best.json").read_text())["metric"] == "balanced_accuracy"
    predictions = (run / "predictions.csv").read_text().splitlines()
    assert len(predictions) - 1 == metrics["n_test"] > 0
    assert 2 <= len((run / "history.csv").read_text().splitlines()) <= 3  # patience 1
    config = (run / "config.yaml").read_text()
    assert "ser_keras>AdamNoBiasCorrection" in config and "linear_warmup_decay" in config
