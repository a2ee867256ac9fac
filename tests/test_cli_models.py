"""``ser-models``: the zoo listing and per-model parameter counts, run in-process.

    .venv/bin/python -m pytest -q tests/test_cli_models.py
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ser_keras import models
from ser_keras.cli import models as cli


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_listing_shows_every_model_with_its_inputs(capsys):
    # act
    code, out, _ = _run(capsys)

    # assertions
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["name", "paper", "inputs", "description"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert sorted(rows) == models.available()
    assert rows["mmfa"].split()[1:4] == ["ho2020", "audio:sequence=mfcc39_smile",
                                         "text:sequence=bert_tokens"]
    assert rows["mlp"].split()[1:3] == ["generic", "audio:vector=egemaps_func"]
    for name, line in rows.items():
        assert line.endswith(models.get_entry(name).description)


@pytest.mark.parametrize("name", ["mlp", "mmfa", "mmfa-audio", "mmfa-text"])
def test_json_counts_equal_the_built_model(capsys, name):
    # build
    model = models.build_model(name, models.paper_spec(name))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    # act
    code, out, _ = _run(capsys, name, "--json")
    summary = json.loads(out)

    # assertions
    assert code == 0
    assert summary == {
        "name": name, "paper": models.get_entry(name).paper,
        "inputs": models.paper_spec(name)["inputs"], "num_classes": 4,
        "total_params": model.count_params(), "trainable_params": trainable,
        "non_trainable_params": model.count_params() - trainable}


def test_dim_and_classes_override_the_paper_spec(capsys):
    # build
    spec = {"inputs": {"audio": {"rank": "vector", "dim": 47}}, "num_classes": 7}
    expected = models.build_model("mlp", spec).count_params()

    # act
    code, out, _ = _run(capsys, "mlp", "--json", "--dim", "audio=47", "--classes", "7")
    summary = json.loads(out)

    # assertions
    assert code == 0
    assert summary["inputs"] == spec["inputs"]
    assert (summary["num_classes"], summary["total_params"]) == (7, expected)
    assert expected != 6_500


def test_text_summary_prints_the_three_counts(capsys):
    # act
    code, out, _ = _run(capsys, "mlp")

    # assertions: counts of tests/test_models_mlp.py::test_parameter_count_is_pinned
    assert code == 0
    assert "input audio: vector, dim 88 (default egemaps_func)" in out
    assert "classes: 4" in out
    assert "total params:         6,500" in out
    assert "trainable params:     6,196" in out
    assert "non-trainable params: 304" in out


@pytest.mark.parametrize("argv, message", [
    (["mmfa-video"], "ser-models: error: unknown model 'mmfa-video'; known models: .*mmfa-audio"),
    (["mlp", "--dim", "text=3"], "ser-models: error: model 'mlp' has no input 'text'"),
    (["mlp", "--classes", "1"], "ser-models: error: input_spec.num_classes: expected an integer"),
])
def test_errors_are_one_line_and_exit_2(capsys, argv, message):
    # act
    code, out, err = _run(capsys, *argv)

    # assertions
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert re.match(message, err)


@pytest.mark.parametrize("argv", [["mlp", "--dim", "audio=x"], ["--json"]])
def test_bad_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
