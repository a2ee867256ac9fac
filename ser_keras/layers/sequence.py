"""Mask-aware sequence layers of the model zoo (Keras 3, ``keras.ops`` only: any backend).

Masks follow the feature store's batches (``ser_keras.data.input``): shape ``(batch, time)``,
1 (or True) on real frames/tokens and 0 on padding, and right-padded: every sample's valid
frames come first. Valid lengths are therefore ``sum(mask)``; the same convention is what the
cuDNN GRU kernels need.

- ``interpolation_weights`` / ``linear_resample`` / ``MaskedResample``: per-sample linear
  interpolation of a sequence along time, from its valid length onto another valid length
  (ho2020 Sec. III-B, the "Re-sampling" block R of Eq. (4)).
- ``MaskedGlobalAveragePooling1D``: the mean over valid frames only (ho2020 Sec. III-C, GAP).
"""
from __future__ import annotations

import keras
from keras import ops


def interpolation_weights(source_mask, target_mask):
    """Linear-interpolation matrix from each sample's valid source steps to its valid target steps.

    Align-corners convention: target step ``j`` of a sample with ``L_t`` valid target steps and
    ``L_s`` valid source steps reads source position ``s = j * (L_s - 1) / (L_t - 1)``, so the
    first valid steps meet and the last valid steps meet (with BERT tokens: ``[CLS]`` on the
    first audio frame, ``[SEP]`` on the last). A single target step (``L_t = 1``) reads source
    step 0; a single source step is copied onto every target step. Rows of padded target steps
    and columns of padded source steps are zero (a sample with no valid source gets zeros).

    Args:
        source_mask: ``(batch, T_s)``, 1 on valid source steps.
        target_mask: ``(batch, T_t)``, 1 on valid target steps.

    Returns:
        ``(batch, T_t, T_s)`` float32 weights; each valid row sums to 1.
    """
    source_valid = ops.cast(source_mask, "float32")  # (batch, T_s)
    target_valid = ops.cast(target_mask, "float32")  # (batch, T_t)
    source_len = ops.sum(source_valid, axis=-1)  # (batch,)
    target_len = ops.sum(target_valid, axis=-1)  # (batch,)
    # Step indices 0, 1, 2, ... built from the masks, so no dynamic `arange` is needed.
    source_index = ops.cumsum(ops.ones_like(source_valid), axis=-1) - 1.0  # (batch, T_s)
    target_index = ops.cumsum(ops.ones_like(target_valid), axis=-1) - 1.0  # (batch, T_t)
    last_source = ops.maximum(source_len - 1.0, 0.0)  # (batch,)
    scale = last_source / ops.maximum(target_len - 1.0, 1.0)  # (batch,)
    position = ops.minimum(target_index * scale[:, None], last_source[:, None])  # (batch, T_t)
    # The hat function max(0, 1 - |s - i|) is exactly linear interpolation between i and i + 1.
    distance = ops.abs(position[:, :, None] - source_index[:, None, :])  # (batch, T_t, T_s)
    weights = ops.relu(1.0 - distance)  # (batch, T_t, T_s)
    return weights * source_valid[:, None, :] * target_valid[:, :, None]


def linear_resample(x, source_mask, target_mask):
    """Resample ``x`` ``(batch, T_s, dim)`` onto the target time axis ``(batch, T_t, dim)``.

    See ``interpolation_weights`` for the alignment; padded target steps come out as zeros.
    """
    weights = interpolation_weights(source_mask, target_mask)  # (batch, T_t, T_s)
    return ops.matmul(ops.cast(weights, x.dtype), x)  # (batch, T_t, dim)


@keras.saving.register_keras_serializable(package="ser_keras")
class MaskedResample(keras.layers.Layer):
    """Layer form of ``linear_resample``: ``layer(x, source_mask, target_mask)``.

    The output has the target's time axis and carries ``target_mask`` as its Keras mask.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, source_mask, target_mask):
        return linear_resample(inputs, source_mask, target_mask)

    def compute_mask(self, inputs, source_mask=None, target_mask=None):
        return None if target_mask is None else ops.cast(target_mask, "bool")

    def compute_output_shape(self, input_shape, source_mask_shape=None, target_mask_shape=None):
        time = None if target_mask_shape is None else target_mask_shape[1]
        return (input_shape[0], time, input_shape[-1])


@keras.saving.register_keras_serializable(package="ser_keras")
class MaskedGlobalAveragePooling1D(keras.layers.Layer):
    """Mean over the valid time steps: ``(batch, time, dim)`` -> ``(batch, dim)``.

    Unlike ``keras.layers.GlobalAveragePooling1D`` with a mask, a sample with no valid step
    gives zeros instead of NaN (the count is clamped at 1).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.cast(mask, inputs.dtype)[:, :, None]  # (batch, time, 1)
        total = ops.sum(inputs * weights, axis=1)  # (batch, dim)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)  # (batch, 1)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
