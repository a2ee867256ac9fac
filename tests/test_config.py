"""The experiment config: YAML tables load and validate, overrides apply, mistakes name keys."""
import pytest

from ser_keras.config import ConfigError, experiment_from_dict, load_experiment


def test_ho2020_tables_load_with_the_papers_recipe():
    exp = load_experiment("ho2020/table3")
    assert exp.class_set == "iemocap4" and exp.protocol == "loso10"
    assert [c.id for c in exp.cells] == [
        "improvised-audio", "improvised-text", "improvised-multimodal",
        "mixed-audio", "mixed-text", "mixed-multimodal"]
    assert (exp.training.optimizer, exp.training.learning_rate, exp.training.lr_decay) == (
        "sgd", 1e-3, 1e-6)
    assert load_experiment("ho2020/table4").class_set == "iemocap8"


def test_dotted_overrides_and_unknown_keys():
    exp = load_experiment("ho2020/table3", ["training.epochs=3", "dataset=demo",
                                            "models.mmfa.dropout=0.1"])
    assert (exp.training.epochs, exp.dataset) == (3, "demo")
    assert exp.models == {"mmfa": {"dropout": 0.1}}
    with pytest.raises(ConfigError, match="unknown key.*'epoch'"):
        load_experiment("ho2020/table3", ["training.epoch=3"])


def test_invalid_values_are_refused():
    base = {"name": "x", "class_set": "iemocap4",
            "cells": [{"scenario": "mixed", "modality": "audio", "model": "mmfa-audio"}]}
    assert experiment_from_dict(dict(base)).cells[0].id == "mixed-audio"
    with pytest.raises(ConfigError, match="class_set"):
        experiment_from_dict(dict(base, class_set="nope"))
    with pytest.raises(ConfigError, match="no-such-model"):
        experiment_from_dict(dict(base, cells=[{"scenario": "mixed", "modality": "audio",
                                                "model": "no-such-model"}]))
    with pytest.raises(ConfigError, match="no such experiment"):
        load_experiment("ho2020/table99")
