"""Activations of the model zoo (Keras 3, ``keras.ops`` only: any backend).

``fast_gelu`` is registered, so a layer built with ``activation=fast_gelu`` serialises as
``"ser_keras>fast_gelu"`` and loads back from a ``.keras`` file.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ser_keras", name="fast_gelu")
def fast_gelu(x):
    """fastGELU of ho2020 App. A, Eq. (7): ``max(0, min(1, (1.702 x + 1) / 2)) * x``.

    A hard-sigmoid gate on x (slope 0.851, gate 0 below x = -1/1.702, 1 above x = 1/1.702);
    it is the paper's formula, not Hendrycks & Gimpel's ``x * sigmoid(1.702 x)``.
    """
    x = ops.convert_to_tensor(x)
    gate = ops.clip((1.702 * x + 1.0) / 2.0, 0.0, 1.0)
    return gate * x
