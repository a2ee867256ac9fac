"""The zoo's output head: one Dense layer whose width and activation the input spec decides.

    head = output_layer(spec)     # softmax over spec.num_classes, or linear over T values

Every model ends in it, so any model classifies or regresses as the spec asks
(``{"num_classes": K}`` or ``{"num_outputs": T, "output": "values"}``).
"""
from __future__ import annotations

import keras

from ser_keras.models.registry import InputSpec


def output_layer(spec, name: str = "predictions") -> keras.layers.Dense:
    """The float32 Dense head of ``spec`` (an ``InputSpec`` or its dict form): softmax
    probabilities over the classes, or a linear map to the continuous targets.

    float32 also under mixed precision: softmax and regression targets need its range.
    """
    spec = InputSpec.from_dict(spec)
    activation = "softmax" if spec.output == "classes" else "linear"
    return keras.layers.Dense(spec.num_outputs, activation=activation, dtype="float32",
                              name=name)


__all__ = ["output_layer"]
