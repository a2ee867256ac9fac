"""The training recipe from configuration: optimizer and learning-rate schedule by name.

    optimizer = build_optimizer(training, steps_per_epoch=120)

``training.optimizer.name`` is any Keras optimizer name (``sgd``, ``adam``, ``adamw``, ...),
built with Keras' own deserialiser (``keras.optimizers.get``) from ``options`` plus the
learning rate, which is a schedule from ``training.schedule``:

- ``none``: the constant ``training.learning_rate``;
- ``inverse_time``: ``keras.optimizers.schedules.InverseTimeDecay``, lr / (1 + rate * step / steps)
  (Keras 2's ``decay`` argument is ``decay_steps: 1, decay_rate: <decay>``);
- ``linear_warmup_decay``: linear warm-up over ``warmup_steps`` to the learning rate, then linear
  decay to 0 at ``total_steps`` (default: epochs x steps per epoch);
- ``cosine``, ``exponential``, ``polynomial``, ``piecewise``, or any Keras schedule class name,
  through ``keras.optimizers.schedules.deserialize`` with ``initial_learning_rate`` = the
  learning rate and the given options.

``ser_keras>AdamNoBiasCorrection``: Hugging Face's AdamW(correct_bias=False) (``optimizers.py``).
A bad name or option is a ``ConfigError`` naming the key (``check_recipe`` runs before any data
is read).
"""
from __future__ import annotations

import keras
from keras import ops

from ser_keras.config import TrainingConfig
from ser_keras.errors import ConfigError
from ser_keras.training.optimizers import AdamNoBiasCorrection  # noqa: F401  (registers it)

# Short names -> Keras schedule class names (a Keras class name works as it is).
SCHEDULE_NAMES = {
    "inverse_time": "InverseTimeDecay",
    "cosine": "CosineDecay",
    "exponential": "ExponentialDecay",
    "polynomial": "PolynomialDecay",
    "piecewise": "PiecewiseConstantDecay",
    "linear_warmup_decay": "ser_keras>LinearWarmupDecay",
}


@keras.saving.register_keras_serializable(package="ser_keras")
class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``initial_learning_rate`` over ``warmup_steps``, then linear
    decay to 0 at ``total_steps`` (the schedule of BERT fine-tuning recipes)."""

    def __init__(self, initial_learning_rate, total_steps, warmup_steps=0):
        if total_steps < 1 or not 0 <= warmup_steps < total_steps:
            raise ValueError(f"linear_warmup_decay: need 0 <= warmup_steps ({warmup_steps}) < "
                             f"total_steps ({total_steps})")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.initial_learning_rate
        warm = peak * step / max(self.warmup_steps, 1)
        decay = peak * ops.maximum(0.0, (self.total_steps - step)
                                   / max(self.total_steps - self.warmup_steps, 1))
        return ops.where(step < self.warmup_steps, warm, decay)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def build_schedule(training: TrainingConfig, steps_per_epoch: int = 1):
    """The learning rate of the optimizer: a float or a Keras LearningRateSchedule."""
    name, options = training.schedule.name, numbers(training.schedule.options)
    if name == "none":
        if options:
            raise ConfigError(f"training.schedule: 'none' takes no options, got {options}")
        return training.learning_rate
    class_name = SCHEDULE_NAMES.get(name, name)
    if class_name == SCHEDULE_NAMES["linear_warmup_decay"]:
        options.setdefault("total_steps", max(1, training.epochs * steps_per_epoch))
    if class_name in ("CosineDecay", "PolynomialDecay", "ExponentialDecay"):
        options.setdefault("decay_steps", max(1, training.epochs * steps_per_epoch))
    config = dict(options)
    if class_name != "PiecewiseConstantDecay":
        config["initial_learning_rate"] = training.learning_rate
    known = f"known short names: none, {', '.join(SCHEDULE_NAMES)}, or a Keras schedule class"
    try:
        schedule = keras.optimizers.schedules.deserialize({"class_name": class_name,
                                                           "config": config})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"training.schedule {name!r} with options {options}: {err}; "
                          f"{known}") from None
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        raise ConfigError(f"training.schedule: unknown {name!r}; {known}")
    return schedule


def build_optimizer(training: TrainingConfig, steps_per_epoch: int = 1):
    """A fresh Keras optimizer of the recipe (build it inside the strategy scope)."""
    name, options = training.optimizer.name, numbers(training.optimizer.options)
    if "learning_rate" in options:
        raise ConfigError("training.optimizer.options: set the rate with "
                          "training.learning_rate, not here")
    schedule = build_schedule(training, steps_per_epoch)
    try:
        optimizer = keras.optimizers.get({"class_name": name,
                                          "config": {"learning_rate": schedule, **options}})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"training.optimizer {name!r} with options {options}: {err}") from None
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ConfigError(f"training.optimizer: unknown {name!r} (a Keras optimizer name: "
                          "sgd, adam, adamw, rmsprop, ...)")
    return optimizer


def numbers(options: dict) -> dict:
    """Options with number-like strings as numbers (PyYAML reads ``1e-6`` as a string)."""
    out = {}
    for key, value in options.items():
        if isinstance(value, str):
            try:
                value = int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                pass
        out[key] = value
    return out


def check_recipe(training: TrainingConfig) -> None:
    """Build the optimizer and schedule once, so a mistake stops before any data is read
    (with many steps per epoch: the real count is known only once the fold is read)."""
    build_optimizer(training, steps_per_epoch=10**6)


__all__ = ["LinearWarmupDecay", "SCHEDULE_NAMES", "build_optimizer", "build_schedule",
           "check_recipe"]
