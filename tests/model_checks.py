"""Checks that every registered model passes the same way (keras-hub ``run_backbone_test`` spirit).

    from model_checks import run_model_checks
    run_model_checks("mmfa", input_spec, tiny_config, tmp_path)

``run_model_checks`` builds a model through a registry and checks, knowing nothing of the model
but its registry entry and the input spec: input names, output shape/dtype (probabilities for
classes, finite values for regression), one ``fit`` step on a tf.data dataset of padded
batches (as ``ser_keras.data.input`` makes them), ``predict`` on a tf.data dataset, batch
independence (a sample alone predicts what it predicts in a batch), masking invariance where an
input is padded (padding a batch further never changes a prediction), config and ``.keras``
round trips with identical predictions, and a float32 output under mixed precision.

Inputs follow the ranks of ``ser_keras.models.registry``: ``sequence`` -> ``name`` (batch, T,
dim) float32 + ``name_mask`` (batch, T), 1 on real steps and 0 on right padding; ``vector`` ->
``name`` (batch, dim), no mask; ``tokens`` -> ``name_token_ids``, ``name_padding_mask``,
``name_segment_ids`` (batch, L) int32, right-padded with zeros.
"""
from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf

from ser_keras import models

# Per-sample valid lengths used for every padded input: includes 1 and 2 (an empty transcript
# is [CLS] [SEP]; the shortest audio is one frame) and unequal lengths inside a batch.
DEFAULT_LENGTHS = (5, 1, 8, 2, 3, 7, 4, 6)
VOCABULARY_SIZE = 16  # token ids of generated tokens inputs are in [1, VOCABULARY_SIZE)
ATOL = 1e-5


def numpy_of(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


def param_counts(model) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) parameter counts of a built model."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def check_padding_out_of_training_statistics(name, input_spec, config, extra=4,
                                             atol=ATOL):
    """Padding a batch further never changes a training-mode prediction (BatchNorm's batch
    statistics and every masked reduction skip the padding); give a config with dropout off,
    so training mode is deterministic."""
    model = models.build_model(name, input_spec, config)
    samples = make_samples(input_spec, models.get_entry(name).input_names)
    tight = numpy_of(model(pad_batch(input_spec, samples), training=True))
    loose = numpy_of(model(pad_batch(input_spec, samples, extra=extra), training=True))
    np.testing.assert_allclose(loose, tight, atol=atol)


def _padded(spec, name) -> bool:
    return spec.rank(name) in ("sequence", "tokens")


def make_samples(input_spec, names=None, lengths=DEFAULT_LENGTHS, seed=0):
    """Unpadded samples ``({name: array}, target)`` for inputs ``names`` (default: all of the
    spec's). Sequence: (T, dim) float32; vector: (dim,) float32; tokens: (T,) int32 token ids
    (segment 0 throughout). Input k of sample i has length ``lengths[(i + k) % len(lengths)]``,
    so the inputs' lengths differ. Targets: class indices, or float32 (num_outputs,) values."""
    spec = models.InputSpec.from_dict(input_spec)
    names = list(spec.inputs) if names is None else list(names)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(len(lengths)):
        features = {}
        for k, name in enumerate(names):
            length = lengths[(i + k) % len(lengths)]
            if spec.rank(name) == "tokens":
                features[name] = rng.integers(1, VOCABULARY_SIZE, size=length).astype("int32")
            elif spec.rank(name) == "vector":
                features[name] = rng.normal(size=spec.dim(name)).astype("float32")
            else:
                features[name] = rng.normal(size=(length, spec.dim(name))).astype("float32")
        if spec.output == "classes":
            target = int(i % spec.num_classes)
        else:
            target = rng.normal(size=spec.num_outputs).astype("float32")
        samples.append((features, target))
    return samples


def _model_inputs(spec, name, value, length):
    """The model-input arrays of one input of one sample, padded to ``length`` steps."""
    if spec.rank(name) == "vector":
        return {name: value}
    steps = value.shape[0]
    if spec.rank(name) == "tokens":
        ids = np.zeros(length, "int32")
        ids[:steps] = value
        mask = (np.arange(length) < steps).astype("int32")
        return {f"{name}_token_ids": ids, f"{name}_padding_mask": mask,
                f"{name}_segment_ids": np.zeros(length, "int32")}
    x = np.zeros((length, value.shape[1]), "float32")
    x[:steps] = value
    return {name: x, f"{name}_mask": (np.arange(length) < steps).astype("float32")}


def pad_batch(input_spec, samples, extra=0):
    """Model inputs for ``samples``, each padded input padded to the batch's longest sample
    plus ``extra`` steps (vector inputs are stacked as they are).

    Padding is zeros with mask 0; a value other than zero would do as well, and the checks
    would catch a model that reads it.
    """
    spec = models.InputSpec.from_dict(input_spec)
    columns: dict[str, list] = {}
    for name in samples[0][0]:
        longest = max(f[name].shape[0] for f, _ in samples) + extra if _padded(spec, name) else 0
        for features, _ in samples:
            for key, array in _model_inputs(spec, name, features[name], longest).items():
                columns.setdefault(key, []).append(array)
    return {key: np.stack(arrays) for key, arrays in columns.items()}


def make_dataset(input_spec, samples, batch_size):
    """tf.data of ``(inputs, target)`` padded per batch (``padded_batch``), masks included."""
    spec = models.InputSpec.from_dict(input_spec)

    def element(features):
        inputs = {}
        for name, value in features.items():
            length = value.shape[0] if _padded(spec, name) else 0
            inputs.update(_model_inputs(spec, name, value, length))
        return inputs

    # padded inputs vary in length along their first axis; vector inputs have fixed shapes
    varying = {key for name in samples[0][0] if _padded(spec, name)
               for key in models.input_tensor_names(name, spec.rank(name))}
    first_inputs, first_target = element(samples[0][0]), samples[0][1]
    signature = ({key: tf.TensorSpec((None, *a.shape[1:]) if key in varying else a.shape,
                                     tf.as_dtype(a.dtype)) for key, a in first_inputs.items()},
                 tf.TensorSpec(np.shape(first_target),
                               tf.int32 if spec.output == "classes" else tf.float32))
    dataset = tf.data.Dataset.from_generator(
        lambda: ((element(features), target) for features, target in samples),
        output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(samples)))
    return dataset.padded_batch(batch_size)


def _plain(config):
    """A config as JSON would hold it (tuples as lists: plain functional models save their
    build shapes as tuples and load them as lists)."""
    return json.loads(json.dumps(config))


def expected_input_names(entry):
    return sorted(t for decl in entry.inputs for t in decl.tensor_names)


def input_names(model):
    return sorted(t.name for t in model.inputs)


def run_model_checks(name, input_spec, config, tmp_path, *, lengths=DEFAULT_LENGTHS,
                     batch_size=4, registry=None):
    """Run the shared checks on model ``name`` of ``registry`` (default: the zoo's); return
    the built (fitted) model."""
    registry = registry or models.REGISTRY
    entry = registry.get_entry(name)
    spec = models.InputSpec.from_dict(input_spec)
    samples = make_samples(spec, entry.input_names, lengths)
    batch = pad_batch(spec, samples)
    classes = spec.output == "classes"
    padded = any(d.rank != "vector" for d in entry.inputs)

    # build
    keras.utils.set_random_seed(0)
    model = registry.build_model(name, spec, config)
    assert isinstance(model, keras.Model)
    assert input_names(model) == expected_input_names(entry)

    # forward: probabilities (classes) or finite values, float32
    out = keras.ops.convert_to_numpy(model(batch, training=False))
    assert out.shape == (len(samples), spec.num_outputs)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    if classes:
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)

    # batch independence: each sample alone (no padding at all) predicts the same
    for i in (0, 1):
        alone = keras.ops.convert_to_numpy(model(pad_batch(spec, samples[i:i + 1]),
                                                 training=False))
        np.testing.assert_allclose(alone[0], out[i], atol=ATOL)
    # masking invariance: extra padding of every padded input changes nothing
    if padded:
        more_padding = keras.ops.convert_to_numpy(model(pad_batch(spec, samples, extra=3),
                                                        training=False))
        np.testing.assert_allclose(more_padding, out, atol=ATOL)

    # one fit step on padded tf.data batches (XLA off: STACK.md, padded lengths vary)
    dataset = make_dataset(spec, samples, batch_size)
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy" if classes else "mse",
                  jit_compile=False)
    history = model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, a) for b, a in zip(before, model.get_weights()))

    # predict on tf.data
    predicted = model.predict(dataset, verbose=0)
    assert predicted.shape == (len(samples), spec.num_outputs)
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
    assert _plain(loaded.get_config()) == _plain(model.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(batch, training=False)),
                               reference, atol=1e-6)

    # mixed precision: float32 outputs
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = registry.build_model(name, spec, config)
        out = mixed(batch, training=False)
    finally:
        keras.config.set_dtype_policy(previous)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    return model
