"""The recipe as configuration: optimizers and schedules through Keras' deserialisers, losses
by name, class weights."""
import keras
import numpy as np
import pytest

from ser_keras.config import LossConfig, TrainingConfig, from_dict
from ser_keras.errors import ConfigError
from ser_keras.training.losses import LOSSES, build_loss, class_weights
from ser_keras.training.recipe import LinearWarmupDecay, build_optimizer, build_schedule


def _training(**values):
    return from_dict(TrainingConfig, values)


def test_optimizers_come_from_keras_by_name():
    sgd = build_optimizer(_training(optimizer={"name": "sgd", "options": {
        "momentum": 0.9, "nesterov": True}}, learning_rate=0.01))
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov and sgd.momentum == 0.9
    adamw = build_optimizer(_training(optimizer="adamw"))
    assert isinstance(adamw, keras.optimizers.AdamW)
    with pytest.raises(ConfigError, match="learning_rate"):
        build_optimizer(_training(optimizer={"name": "adam", "options": {"learning_rate": 1}}))


def test_inverse_time_decay_is_keras_2_decay():
    schedule = build_schedule(_training(learning_rate=1e-3, schedule={
        "name": "inverse_time", "options": {"decay_steps": 1, "decay_rate": 1e-6}}))
    for step in (0, 10, 10_000):
        assert float(schedule(step)) == pytest.approx(1e-3 / (1 + 1e-6 * step))
    assert build_schedule(_training(learning_rate=0.5)) == 0.5  # "none": a constant


def test_linear_warmup_then_linear_decay():
    schedule = build_schedule(_training(learning_rate=2e-5, schedule={
        "name": "linear_warmup_decay", "options": {"warmup_steps": 100, "total_steps": 1000}}))
    assert isinstance(schedule, LinearWarmupDecay)
    assert float(schedule(50)) == pytest.approx(1e-5)
    assert float(schedule(100)) == pytest.approx(2e-5)
    assert float(schedule(550)) == pytest.approx(1e-5)
    assert float(schedule(1000)) == pytest.approx(0.0, abs=1e-12)
    # default total: epochs x steps per epoch
    default = build_schedule(_training(epochs=4, schedule="linear_warmup_decay"), 25)
    assert default.total_steps == 100
    with pytest.raises(ConfigError, match="known short names"):
        build_schedule(_training(schedule="no-such-schedule"))


def test_losses_by_name_and_the_ccc_loss_value():
    y = np.array([[0.1, 1.0], [0.5, 2.0], [0.9, 2.5], [0.3, 0.5]], np.float32)
    p = np.array([[0.2, 1.2], [0.4, 1.5], [1.0, 2.0], [0.1, 1.0]], np.float32)

    def ccc(a, b):
        cov = np.mean((a - a.mean()) * (b - b.mean()))
        return 2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)

    expected = 1 - np.mean([ccc(y[:, i], p[:, i]) for i in range(2)])
    value = float(build_loss(LossConfig("ccc"), regression=True)(y, p))
    assert value == pytest.approx(expected, rel=1e-5)
    total = build_loss(from_dict(LossConfig, {"name": "sum", "terms": [
        {"name": "ccc", "weight": 1.0}, {"name": "mse", "weight": 0.5}]}), regression=True)
    assert float(total(y, p)) == pytest.approx(expected + 0.5 * np.mean((y - p) ** 2), rel=1e-5)
    with pytest.raises(ConfigError, match="classification loss"):
        build_loss(LossConfig("cross_entropy"), regression=True)
    mae = build_loss(LossConfig("l1"), regression=True)       # alias of mae (L1)
    assert float(mae(y, p)) == pytest.approx(np.mean(np.abs(y - p)), rel=1e-5)
    assert set(LOSSES.names()) == {"ccc", "cross_entropy", "mae", "mse", "sum"}


def test_class_weights_inverse_frequency_and_relative_to_the_smallest():
    counts = [100, 50, 25, 0]
    inverse = class_weights(LossConfig(class_weights="inverse_frequency"), counts)
    assert inverse == pytest.approx([175 / 300, 175 / 150, 175 / 75, 0.0])
    # every present class carries the same total weight
    assert {round(w * n, 6) for w, n in zip(inverse, counts) if n} == {round(175 / 3, 6)}
    assert class_weights(LossConfig(class_weights="smallest"), counts) == pytest.approx(
        [0.25, 0.5, 1.0, 0.0])
    assert class_weights(LossConfig(), counts) is None


def test_unknown_optimizer_is_a_config_error():
    with pytest.raises(ConfigError, match="training.optimizer"):
        build_optimizer(_training(optimizer="no-such-optimizer"))


def test_training_floor_is_the_trivial_predictor_of_the_training_part():
    from types import SimpleNamespace

    from ser_keras.training.tasks import training_floor

    # classification: the most frequent training class (ties: the first), its test accuracy
    cls = SimpleNamespace(regression=False, class_set="iemocap4", targets=["classes"])
    floor = training_floor(cls, [1, 1, 2, 2, 0], np.array([2, 1, 1, 3]))["train_majority"]
    assert floor == {"class": "angry", "accuracy": 0.5, "train_share": 0.4}
    # regression: every target predicted as its training mean
    reg = SimpleNamespace(regression=True, class_set="mosei6", targets=["happy", "sad"])
    train = np.array([[0.0, 3.0], [1.0, 1.0], [2.0, 2.0]])
    test = np.array([[1.0, 0.0], [3.0, 2.0]])
    floor = training_floor(reg, train.tolist(), test)["train_mean"]
    assert floor["mean"] == {"happy": 1.0, "sad": 2.0}
    assert floor["per_target_mae"] == {"happy": 1.0, "sad": 1.0}
    assert floor["mae"] == pytest.approx(np.abs(test - train.mean(axis=0)).mean())
    assert floor["mse"] == pytest.approx(((test - train.mean(axis=0)) ** 2).mean())
