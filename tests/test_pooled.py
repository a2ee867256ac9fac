"""Pooled datasets (``ravdess+savee+tess``, kakuba2023 Tables 7-8): corpora prepared apart,
read as one with ids and speakers qualified by corpus."""
import json

import numpy as np
import pytest

from fake_store import make_fake_store
from ser_keras import store
from ser_keras.data import pooled
from ser_keras.errors import StoreError
from ser_keras.experiment import experiment_from_dict
from ser_keras.training import ExperimentData, run_job


@pytest.fixture(scope="module")
def two_corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    # the same utt_ids and speaker names in both corpora: only qualification tells them apart
    make_fake_store(root, corpus="iemocap", per_speaker=6, seed=1)
    make_fake_store(root, corpus="demo", per_speaker=6, seed=2)
    return root


def _experiment(root, **extra):
    return {"name": "test/pool", "dataset": "iemocap+demo", "data_dir": str(root),
            "class_set": "iemocap4", "protocol": "speaker-kfold",
            "protocol_options": {"k": 4}, "inputs": {"audio": "vec_feats"},
            "cells": [{"id": "mlp", "model": "mlp"}],
            "training": {"epochs": 2, "batch_size": 16}, **extra}


def test_parts_and_bad_names():
    assert pooled.parts("ravdess+savee+tess") == ["ravdess", "savee", "tess"]
    assert pooled.parts("iemocap") == ["iemocap"] and not pooled.is_pooled("iemocap")
    for bad in ("ravdess+", "ravdess+ravdess"):
        with pytest.raises(StoreError, match="distinct corpora"):
            pooled.parts(bad)


def test_pooled_rows_and_features_are_qualified_by_corpus(two_corpora):
    exp = experiment_from_dict(_experiment(two_corpora))
    data = ExperimentData(exp)
    rows = data.rows("iemocap+demo")
    one = store.read_manifest(store.manifest_path(two_corpora, "iemocap"))
    assert len(rows) == 2 * len(one)
    assert {r["utt_id"].split("/")[0] for r in rows} == {"iemocap", "demo"}
    assert len({r["utt_id"] for r in rows}) == len(rows)
    assert len({r["speaker"] for r in rows}) == 2 * len({r["speaker"] for r in one})
    fs = data.feature_set("iemocap+demo", "vec_feats")
    assert fs.utt_ids[0].startswith("iemocap/") and fs.utt_ids[-1].startswith("demo/")
    records = fs.to_dict()
    assert set(records) == set(fs.utt_ids)
    alone = store.open_feature_set(two_corpora, "demo", "vec_feats").to_dict()
    u = next(iter(alone))
    np.testing.assert_array_equal(records[f"demo/{u}"], alone[u])


def test_speaker_folds_of_a_pool_keep_each_corpus_speaker_on_one_side(two_corpora, tmp_path):
    exp = experiment_from_dict(_experiment(two_corpora))
    data = ExperimentData(exp)
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path, data, log=lambda m: None)
    folds = json.loads((tmp_path / "test/pool/iemocap+demo/mlp/fold00-seed0/folds.json")
                       .read_text())
    speaker = {r["utt_id"]: r["speaker"] for r in data.rows("iemocap+demo")}
    train = {speaker[u] for u in folds["train"]}
    test = {speaker[u] for u in folds["test"]}
    assert train and test and not train & test
    assert metrics["n_test"] == len(folds["test"])


def test_a_pool_of_differently_extracted_sets_is_refused(tmp_path):
    make_fake_store(tmp_path, corpus="iemocap", per_speaker=2)
    make_fake_store(tmp_path, corpus="demo", per_speaker=2, audio_dim=6)
    data = ExperimentData(experiment_from_dict(_experiment(tmp_path)))
    with pytest.raises(StoreError, match="audio_feats: iemocap and demo were extracted "
                                         "differently .dim"):
        data.feature_set("iemocap+demo", "audio_feats")


def test_a_class_set_must_read_every_corpus_of_the_pool(two_corpora):
    from ser_keras.data import ProtocolError

    with pytest.raises(ProtocolError, match=r"not iemocap; class sets for iemocap\+demo: "
                                           "cross-dims, cross4, iemocap4, iemocap8"):
        ExperimentData(experiment_from_dict(
            _experiment(two_corpora, dataset="iemocap+demo", class_set="emodb4")))


def test_store_level_readers_open_a_pool_like_the_runner(two_corpora):
    rows = pooled.read_rows(two_corpora, "iemocap+demo")
    assert {r["utt_id"].split("/")[0] for r in rows} == {"iemocap", "demo"}
    fs = pooled.open_feature_set(two_corpora, "iemocap+demo", "vec_feats")
    assert isinstance(fs, pooled.PooledFeatureSet) and len(fs.utt_ids) == len(
        pooled.open_feature_set(two_corpora, "demo", "vec_feats").utt_ids) * 2
