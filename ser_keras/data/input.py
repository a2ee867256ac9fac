"""tf.data input from the feature store: select rows, join feature sets, pad per batch, mask.

>>> from ser_keras.data import input as data_input
>>> rows = data_input.select_rows(manifest_rows, get_class_set("iemocap4"), "improvised")
>>> sets = data_input.open_inputs("data", "demo", {"audio": "mfcc39_smile", "text": "bert_tokens"})
>>> ds, ids = data_input.make_dataset(sets, labels, batch_size=32, shuffle=True, seed=0)

Elements are ``({"audio", "audio_mask", "text", "text_mask"}, label)``; each batch is padded to
its own longest sample (ho2020 Sec. III-C: "we fix the temporal length on batch based on the
maximum length of sample in that batch"), masks are 1 on real frames/tokens and 0 on padding.
"""
from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

from ser_keras import store
from ser_keras.data.classes import ClassSet

SCENARIOS = ("improvised", "mixed")


def select_rows(rows: Sequence[dict], class_set: ClassSet, scenario: str = "mixed"
                ) -> tuple[list[dict], dict[str, int]]:
    """Rows usable for ``class_set`` in ``scenario`` and the counts of those left out, by reason.

    ``mixed`` = improvised + scripted (ho2020 Sec. IV-A); ``improvised`` keeps improvised only.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    kept, left_out = [], collections.Counter()
    for row in rows:
        if row["status"] != store.STATUS_OK:
            left_out[f"status {row['status']}"] += 1
        elif class_set.index(row["label"]) is None:
            left_out[f"label {row['label'] or '(none)'} not in {class_set.name}"] += 1
        elif scenario == "improvised" and row.get("scenario") != "improvised":
            left_out[f"scenario {row.get('scenario') or '(none)'}"] += 1
        else:
            kept.append(row)
    return kept, dict(sorted(left_out.items()))


def open_inputs(store_root, corpus: str, features: dict[str, str],
                expect: dict[str, dict] | None = None) -> dict[str, store.FeatureSet]:
    """The feature set of each modality (``{"audio": "mfcc39_smile", ...}``), validated."""
    return {modality: store.open_feature_set(store_root, corpus, name,
                                             (expect or {}).get(modality))
            for modality, name in features.items()}


def available_ids(feature_sets: dict[str, store.FeatureSet], wanted: Sequence[str]
                  ) -> tuple[list[str], dict[str, str]]:
    """``wanted`` ids present in every feature set (store order) and why the others are not."""
    wanted_set = set(wanted)
    present = [set(fs.utt_ids) for fs in feature_sets.values()]
    first = next(iter(feature_sets.values()))
    ids = [u for u in first.utt_ids if u in wanted_set and all(u in p for p in present)]
    missing = {}
    for u in sorted(wanted_set - set(ids)):
        reasons = [f"{fs.name}: {fs.failures.get(u, 'not in store')}"
                   for fs in feature_sets.values() if u not in fs.utt_ids]
        missing[u] = "; ".join(reasons)
    return ids, missing


def make_dataset(feature_sets: dict[str, store.FeatureSet], labels: dict[str, int], *,
                 batch_size: int, shuffle: bool = False, seed: int = 0, cache: bool = True,
                 drop_remainder: bool = False, pad_to_longest_in_corpus: bool = False):
    """Batched, padded, masked dataset of the utterances in ``labels`` and their order.

    The order (returned as a list of utt_ids) is the store's order when ``shuffle`` is False,
    so predictions can be matched to utterances. ``pad_to_longest_in_corpus`` pads every batch
    to the longest sample of the selection instead of the batch (for the padding benchmark).
    """
    import tensorflow as tf

    ids, _ = available_ids(feature_sets, list(labels))
    if not ids:
        raise ValueError("no utterance of the selection has features in every feature set")
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(ids), tf.constant(
            [labels[u] for u in ids], tf.int32)), default_value=-1)
    modalities = list(feature_sets)
    streams = []
    for modality in modalities:
        ds = feature_sets[modality].dataset()
        ds = ds.filter(lambda r: table.lookup(r["utt_id"]) >= 0)
        streams.append(ds)

    def join(*records):
        first = records[0]["utt_id"]
        checks = [tf.debugging.assert_equal(r["utt_id"], first, message="feature sets out of "
                                            "step: rebuild the store") for r in records[1:]]
        with tf.control_dependencies(checks):
            inputs = {}
            for modality, record in zip(modalities, records):
                x = record["features"]
                inputs[modality] = x
                inputs[f"{modality}_mask"] = tf.ones(tf.shape(x)[:1], tf.float32)
            return inputs, table.lookup(first)

    ds = tf.data.Dataset.zip(tuple(streams)).map(join, num_parallel_calls=tf.data.AUTOTUNE)
    # The filter hides the size; state it so Keras knows where an epoch ends (and checks it).
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(ids)))
    if cache:
        ds = ds.cache()  # parsed once, read from memory every later epoch
    if shuffle:
        ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    padded_shapes = None
    if pad_to_longest_in_corpus:
        longest = _longest(feature_sets, ids)
        padded_shapes = ({m: ([longest[m], feature_sets[m].metadata["dim"]]) for m in modalities}
                         | {f"{m}_mask": [longest[m]] for m in modalities}, [])
    ds = ds.padded_batch(batch_size, padded_shapes=padded_shapes, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE), ids


def _longest(feature_sets, ids) -> dict[str, int]:
    wanted = set(ids)
    longest = {}
    for modality, fs in feature_sets.items():
        lengths = [int(r["shape"][0]) for r in _shapes(fs) if r["utt_id"] in wanted]
        longest[modality] = max(lengths)
    return longest


def _shapes(fs: store.FeatureSet):
    for record in fs.dataset().as_numpy_iterator():
        yield {"utt_id": record["utt_id"].decode(), "shape": record["features"].shape}


def label_indices(rows: Sequence[dict], class_set: ClassSet) -> dict[str, int]:
    return {r["utt_id"]: class_set.index(r["label"]) for r in rows}


def class_counts(rows: Sequence[dict], class_set: ClassSet) -> dict[str, int]:
    counts = collections.Counter(class_set.mapping[r["label"]] for r in rows)
    return {c: counts.get(c, 0) for c in class_set.classes}


def input_spec(feature_sets: dict[str, store.FeatureSet], num_classes: int) -> dict:
    """What a model builder needs from the store: per-modality dims and the class count."""
    return {"inputs": {m: {"dim": int(fs.metadata["dim"]), "feature_set": fs.name}
                       for m, fs in feature_sets.items()},
            "num_classes": num_classes}


def to_numpy_batches(dataset) -> list:
    """The batches of a dataset as numpy (for the in-memory baseline of the benchmarks)."""
    return [(dict((k, np.asarray(v)) for k, v in x.items()), np.asarray(y))
            for x, y in dataset.as_numpy_iterator()]
