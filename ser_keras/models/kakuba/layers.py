"""Layers the kakuba2023 models share (Keras 3, ``keras.ops`` only: any backend).

- ``PackedTimeConcat``: the papers' "concatenate" of sequences of different lengths, on the
  time axis, packing each sample's valid steps together (valid steps of the first sequence,
  then those of the second, ..., then padding), so the result is right-padded like every
  other sequence of the zoo and a convolution across the junction sees the same neighbours
  whatever the batch's padding.
- ``conv_params`` / ``bilstm_params``: parameter counts (used by the docstrings' arithmetic and
  ``benchmarks/kakuba_param_search.py``).
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ser_keras")
class PackedTimeConcat(keras.layers.Layer):
    """``layer([x_1, ..., x_n], [mask_1, ..., mask_n]) -> (packed, packed_mask)``.

    Each ``x_k`` is ``(batch, T_k, dim)`` (one dim for all), each ``mask_k`` ``(batch, T_k)``, 1 on
    valid steps, right-padded. For a sample with valid lengths ``L_1 .. L_n`` the output holds
    ``x_1[:L_1], x_2[:L_2], ..., x_n[:L_n]`` on its first ``L_1 + ... + L_n`` steps and zeros on the
    rest; it has ``T_1 + ... + T_n`` steps. ``packed_mask`` (float, 1 on the packed valid steps)
    is returned as a second output; the layer sets no Keras mask (masks travel explicitly, and
    Keras masks of the inputs are ignored).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, masks):
        inputs, masks = list(inputs), list(masks)
        if len(inputs) != len(masks) or not inputs:
            raise ValueError(f"{self.name}: one mask per sequence, got {len(inputs)} "
                             f"sequences and {len(masks)} masks")
        valids = [ops.cast(m, "float32") for m in masks]
        raw = ops.concatenate(inputs, axis=1)  # (batch, T, dim), each sequence's padding inside
        raw_valid = ops.concatenate(valids, axis=1)  # (batch, T)
        step = ops.cumsum(ops.ones_like(raw_valid), axis=1) - 1.0  # output step j: (batch, T)
        source = step  # segment 0: output step j reads raw step j
        start = ops.zeros_like(raw_valid[:, 0])  # (batch,) first output step of the segment
        offset = 0.0  # first raw step of the segment
        for k in range(1, len(inputs)):
            start = start + ops.sum(valids[k - 1], axis=1)
            offset = offset + ops.cast(ops.shape(inputs[k - 1])[1], "float32")
            in_segment = step >= start[:, None]
            source = ops.where(in_segment, step - start[:, None] + offset, source)
        total = ops.sum(raw_valid, axis=1)  # (batch,)
        valid = ops.cast(step < total[:, None], "float32")  # (batch, T)
        source = ops.cast(source * valid, "int32")  # padded steps read step 0 (zeroed below)
        index = source[:, :, None] + ops.zeros_like(raw, dtype="int32")  # (batch, T, dim)
        packed = ops.take_along_axis(raw, index, axis=1)
        return packed * ops.cast(valid, packed.dtype)[:, :, None], valid

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, inputs_shape, masks_shape):
        steps = [s[1] for s in inputs_shape]
        total = None if any(t is None for t in steps) else sum(steps)
        batch, dim = inputs_shape[0][0], inputs_shape[0][-1]
        return (batch, total, dim), (batch, total)


def conv_params(dim: int, filters: int, kernel_size: int) -> int:
    """Parameters of ``Conv1D(filters, kernel_size)`` on ``dim`` channels (with bias)."""
    return kernel_size * dim * filters + filters


def bilstm_params(dim: int, units: int) -> int:
    """Parameters of ``Bidirectional(LSTM(units))`` on ``dim``-wide inputs."""
    return 2 * 4 * units * (dim + units + 1)


__all__ = ["PackedTimeConcat", "bilstm_params", "conv_params"]
