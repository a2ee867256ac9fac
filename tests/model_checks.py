"""Checks that every registered model passes the same way (keras-hub ``run_backbone_test`` spirit).

    from model_checks import run_model_checks
    run_model_checks("mmfa", input_spec, tiny_config, tmp_path)

``run_model_checks`` builds a model through the registry and checks, knowing nothing of the
model but its registry entry: input names, output shape/dtype/probabilities, one ``fit`` step on
a tf.data dataset of padded batches with masks (as ``ser_keras.data.input`` makes them),
``predict`` on a tf.data dataset, masking invariance (padding a batch further, or not at all,
never changes a prediction), config and ``.keras`` round trips with identical predictions, and
a float32 output under mixed precision. Inputs are ``<modality>`` (batch, T, dim) and
``<modality>_mask`` (batch, T), 1 on real steps and 0 on padding, right-padded.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ser_keras import models

# Per-sample valid lengths used for every modality: includes 1 and 2 (an empty transcript is
# [CLS] [SEP]; the shortest audio is one frame) and unequal lengths inside a batch.
DEFAULT_LENGTHS = (5, 1, 8, 2, 3, 7, 4, 6)
ATOL = 1e-5


def make_samples(input_spec, modalities, lengths=DEFAULT_LENGTHS, seed=0):
    """Unpadded samples ``({modality: (T, dim)}, label)``; modality m of sample i has length
    ``lengths[(i + k) % len(lengths)]`` (k = index of m), so the modalities' lengths differ."""
    spec = models.InputSpec.from_dict(input_spec)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(len(lengths)):
        features = {}
        for k, modality in enumerate(modalities):
            length = lengths[(i + k) % len(lengths)]
            features[modality] = rng.normal(size=(length, spec.dim(modality))).astype("float32")
        samples.append((features, int(i % spec.num_classes)))
    return samples


def pad_batch(samples, extra=0):
    """Model inputs for ``samples`` padded to the batch's longest sample plus ``extra`` steps.

    Padding is zeros with mask 0; a value other than zero would do as well, and the checks
    would catch a model that reads it.
    """
    modalities = list(samples[0][0])
    batch = {}
    for modality in modalities:
        longest = max(f[modality].shape[0] for f, _ in samples) + extra
        dim = samples[0][0][modality].shape[1]
        x = np.zeros((len(samples), longest, dim), "float32")
        mask = np.zeros((len(samples), longest), "float32")
        for i, (features, _) in enumerate(samples):
            length = features[modality].shape[0]
            x[i, :length] = features[modality]
            mask[i, :length] = 1.0
        batch[modality], batch[f"{modality}_mask"] = x, mask
    return batch


def make_dataset(samples, batch_size):
    """tf.data of ``(inputs, label)`` padded per batch with masks (``padded_batch``)."""
    modalities = list(samples[0][0])

    def generate():
        for features, label in samples:
            inputs = {}
            for modality in modalities:
                inputs[modality] = features[modality]
                inputs[f"{modality}_mask"] = np.ones(features[modality].shape[0], "float32")
            yield inputs, label

    signature = ({}, tf.TensorSpec((), tf.int32))
    for modality in modalities:
        dim = samples[0][0][modality].shape[1]
        signature[0][modality] = tf.TensorSpec((None, dim), tf.float32)
        signature[0][f"{modality}_mask"] = tf.TensorSpec((None,), tf.float32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(samples)))
    return dataset.padded_batch(batch_size)


def expected_input_names(modalities):
    return sorted([*modalities, *(f"{m}_mask" for m in modalities)])


def input_names(model):
    return sorted(t.name for t in model.inputs)


def run_model_checks(name, input_spec, config, tmp_path, *, lengths=DEFAULT_LENGTHS,
                     batch_size=4):
    """Run the shared checks on registered model ``name``; return the built (fitted) model."""
    entry = models.get_entry(name)
    spec = models.InputSpec.from_dict(input_spec)
    samples = make_samples(spec, entry.modalities, lengths)
    batch = pad_batch(samples)

    # build
    keras.utils.set_random_seed(0)
    model = models.build_model(name, spec, config)
    assert isinstance(model, keras.Model)
    assert input_names(model) == expected_input_names(entry.modalities)

    # forward: probabilities, float32
    probs = keras.ops.convert_to_numpy(model(batch, training=False))
    assert probs.shape == (len(samples), spec.num_classes)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    # masking invariance: extra padding, or none at all (each sample alone), changes nothing
    more_padding = keras.ops.convert_to_numpy(model(pad_batch(samples, extra=3), training=False))
    np.testing.assert_allclose(more_padding, probs, atol=ATOL)
    for i in (0, 1):
        alone = keras.ops.convert_to_numpy(model(pad_batch(samples[i:i + 1]), training=False))
        np.testing.assert_allclose(alone[0], probs[i], atol=ATOL)

    # one fit step on padded tf.data batches (XLA off: STACK.md, padded lengths vary)
    dataset = make_dataset(samples, batch_size)
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy", jit_compile=False)
    history = model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, a) for b, a in zip(before, model.get_weights()))

    # predict on tf.data
    predicted = model.predict(dataset, verbose=0)
    assert predicted.shape == (len(samples), spec.num_classes)
    assert np.all(np.isfinite(predicted))
    reference = keras.ops.convert_to_numpy(model(batch, training=False))
    np.testing.assert_allclose(predicted, reference, atol=ATOL)

    # config round trip (model and every registered custom layer)
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(batch, training=False)),
                               reference, atol=1e-6)
    for layer in model.layers:
        if keras.saving.get_registered_name(type(layer)).startswith("ser_keras>"):
            again = type(layer).from_config(layer.get_config())
            assert again.get_config() == layer.get_config(), layer.name

    # .keras round trip
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(batch, training=False)),
                               reference, atol=1e-6)

    # mixed precision: float32 probabilities
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = models.build_model(name, spec, config)
        out = mixed(batch, training=False)
    finally:
        keras.config.set_dtype_policy(previous)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    return model
