"""Optimizers the papers use that Keras does not ship, registered for ``keras.optimizers.get``.

    optimizer = keras.optimizers.get({"class_name": "ser_keras>AdamNoBiasCorrection",
                                      "config": {"learning_rate": 2e-5, "epsilon": 1e-6}})

(what ``ser_keras.training.recipe.build_optimizer`` calls for ``training.optimizer.name:
ser_keras>AdamNoBiasCorrection``). Written with ``keras.ops``: any Keras backend.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ser_keras")
class AdamNoBiasCorrection(keras.optimizers.Optimizer):
    """Adam without bias correction: Hugging Face's ``AdamW(correct_bias=False)``, the
    optimizer of BERT fine-tuning recipes (triantafyllopoulos2022 Sec. 4.2: "no bias
    correction").

    Per step, with gradient g and the current (scheduled) learning rate lr::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        w = w - lr * m / (sqrt(v) + epsilon)

    i.e. Keras' Adam without its ``sqrt(1 - beta_2^t) / (1 - beta_1^t)`` factor: with the
    default betas early steps are larger (up to ~6.6x near step 12, ~1.3x at step 1000; the
    recipes' warm-up tempers them). ``weight_decay`` (default None: none) is Keras' decoupled
    decay, ``w -= lr * weight_decay * w``, as AdamW's "fixed weight decay". The other keyword
    arguments (clipnorm, loss_scale_factor, ...) are Keras' base-optimizer ones.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                 weight_decay=None, name="adam_no_bias_correction", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name,
                         **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        """The first (m) and second (v) moment of every variable, zeros."""
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        # m += (1 - b1) (g - m) is m = b1 m + (1 - b1) g; likewise v with g^2
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v),
                                        1 - self.beta_2))
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr),
                                             ops.add(ops.sqrt(v), self.epsilon)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


__all__ = ["AdamNoBiasCorrection"]
