"""Transformer-encoder layers of the model zoo (Keras 3, ``keras.ops`` only: any backend).

- ``TransformerEncoder``: one encoder block, multi-head self-attention + position-wise
  feed-forward, each with a residual connection, layer normalisation and dropout (Vaswani et
  al. 2017), pre-norm (the keras.io "Timeseries classification with a Transformer model"
  block) or post-norm (Vaswani et al.; the keras.io "Text classification with Transformer"
  block).
- ``SinusoidalPositionalEncoding``: Vaswani et al.'s fixed sin/cos positional encoding, added.
- ``DotSelfAttention``: parameter-free (scaled) dot-product self-attention over one sequence,
  ``softmax(X X^T / sqrt(d)) X`` (Luong et al.'s "dot" score; Keras' ``Attention()([x, x])``).

All take a ``(batch, time)`` mask, 1/True on valid steps, right-padded
(``ser_keras.layers.sequence``): padded keys are never attended to and outputs at padded steps
are zero, so padding a batch further never changes the valid outputs.
"""
from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops

from ser_keras.layers.attention import masked_softmax


def _zero_padded(x, mask):
    """``x`` with the steps where ``mask`` is False set to zero (``mask`` None: unchanged)."""
    if mask is None:
        return x
    return x * ops.cast(mask, x.dtype)[:, :, None]


@keras.saving.register_keras_serializable(package="ser_keras")
class TransformerEncoder(keras.layers.Layer):
    """One transformer-encoder block over ``(batch, time, dim)``; output of the same shape.

    ``norm_first=True`` (pre-norm, the keras.io timeseries block)::

        x = x + Dropout(MHA(LN(x), LN(x)))
        x = x + Dense_dim(Dropout(Dense_ff(LN(x), activation)))

    ``norm_first=False`` (post-norm, Vaswani et al.)::

        x = LN(x + Dropout(MHA(x, x)))
        x = LN(x + Dropout(Dense_dim(Dense_ff(x, activation))))

    MHA is ``keras.layers.MultiHeadAttention(num_heads, key_dim, dropout=dropout)`` (its value
    width = ``key_dim``, its output projected back to ``dim``); the feed-forward part is
    Dense(ff_dim) then Dense(dim) (the keras.io block's two 1x1 convolutions are the same map).
    Parameters: ``4 * dim * num_heads * key_dim + 3 * num_heads * key_dim + dim`` (MHA)
    ``+ 2 * dim * ff_dim + ff_dim + dim`` (feed-forward) ``+ 4 * dim`` (two LayerNorms).

    Masking: padded keys get attention weight 0; outputs at padded steps are set to 0.

    Args:
        num_heads: attention heads.
        key_dim: width of each head's queries, keys and values.
        ff_dim: width of the feed-forward hidden layer.
        dropout: rate of the attention dropout and of the two residual-branch dropouts.
        norm_first: pre-norm (True) or post-norm (False).
        activation: of the feed-forward hidden layer.
        epsilon: of the LayerNorms (1e-6 as in both keras.io blocks).
        kernel_initializer, kernel_regularizer: of every kernel (MHA and feed-forward).
    """

    def __init__(self, num_heads, key_dim, ff_dim, dropout=0.0, norm_first=True,
                 activation="relu", epsilon=1e-6, kernel_initializer="glorot_uniform",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.ff_dim = int(ff_dim)
        self.dropout = float(dropout)
        self.norm_first = bool(norm_first)
        self.activation = keras.activations.get(activation)
        self.epsilon = float(epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = True

    def _initializer(self):
        # a fresh initializer object per sub-layer (Keras warns when one is reused)
        return keras.initializers.get(keras.initializers.serialize(self.kernel_initializer))

    def _regularizer(self):
        if self.kernel_regularizer is None:
            return None
        return keras.regularizers.get(keras.regularizers.serialize(self.kernel_regularizer))

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.key_dim, dropout=self.dropout,
            kernel_initializer=self._initializer(), kernel_regularizer=self._regularizer(),
            dtype=self.dtype_policy, name="attention")
        self.attention.build(input_shape, input_shape)
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=self.dtype_policy, name="attention_norm")
        self.attention_norm.build(input_shape)
        self.ff_hidden = keras.layers.Dense(
            self.ff_dim, activation=self.activation, kernel_initializer=self._initializer(),
            kernel_regularizer=self._regularizer(), dtype=self.dtype_policy, name="ff_hidden")
        self.ff_hidden.build(input_shape)
        self.ff_output = keras.layers.Dense(
            dim, kernel_initializer=self._initializer(), kernel_regularizer=self._regularizer(),
            dtype=self.dtype_policy, name="ff_output")
        self.ff_output.build((*input_shape[:-1], self.ff_dim))
        self.ff_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=self.dtype_policy, name="ff_norm")
        self.ff_norm.build(input_shape)
        self.attention_dropout = keras.layers.Dropout(self.dropout)
        self.ff_dropout = keras.layers.Dropout(self.dropout)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = _zero_padded(inputs, mask)
        attention_mask = None
        if mask is not None:
            valid = ops.cast(mask, "bool")
            # (batch, T_q, T_k): a valid query sees the valid keys; padded query rows see
            # nothing (their outputs are finite and zeroed below)
            attention_mask = ops.logical_and(valid[:, :, None], valid[:, None, :])

        def attend(h):
            with warnings.catch_warnings():
                # Keras warns on a softmax over one key (a one-step sequence): that is right
                warnings.filterwarnings("ignore", message="You are using a softmax over axis")
                h = self.attention(h, h, attention_mask=attention_mask, training=training)
            return self.attention_dropout(h, training=training)

        def feed_forward(h):
            h = self.ff_hidden(h)
            h = self.ff_dropout(h, training=training)
            return self.ff_output(h)

        if self.norm_first:
            x = x + attend(self.attention_norm(x))
            x = x + feed_forward(self.ff_norm(x))
        else:
            x = self.attention_norm(x + attend(x))
            x = self.ff_norm(x + feed_forward(x))
        return _zero_padded(x, mask)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "norm_first": self.norm_first,
            "activation": keras.activations.serialize(self.activation),
            "epsilon": self.epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config


def transformer_encoder_params(dim: int, num_heads: int, key_dim: int, ff_dim: int) -> int:
    """Parameter count of one ``TransformerEncoder`` block on ``dim``-wide inputs."""
    attention = 4 * dim * num_heads * key_dim + 3 * num_heads * key_dim + dim
    return attention + 2 * dim * ff_dim + ff_dim + dim + 4 * dim


def sinusoidal_encoding(positions, dim: int):
    """Vaswani et al. Sec. 3.5: ``PE(p, 2i) = sin(p / 10000^(2i/dim))``,
    ``PE(p, 2i+1) = cos(p / 10000^(2i/dim))``; ``positions`` ``(...)`` -> ``(..., dim)``
    float32."""
    index = np.arange(dim)
    inverse_wavelength = np.power(10000.0, -(2 * (index // 2)) / dim).astype("float32")
    angles = ops.cast(positions, "float32")[..., None] * inverse_wavelength  # (..., dim)
    even = ops.convert_to_tensor((index % 2 == 0).astype("float32"))
    return even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)


@keras.saving.register_keras_serializable(package="ser_keras")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """``x + PE`` with Vaswani et al.'s fixed sinusoidal encoding of the step index (0, 1, ...);
    no weights. Right padding leaves every valid step's position unchanged; padded steps are
    set to zero. The inputs are not rescaled (Vaswani et al. multiply learnt token embeddings
    by sqrt(dim); precomputed embeddings are used as they are)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        # step indices 0, 1, 2, ... from a cumulative sum (no dynamic arange)
        positions = ops.cumsum(ops.ones_like(ops.cast(inputs[:, :, 0], "float32")), axis=1) - 1.0
        encoding = sinusoidal_encoding(positions, int(inputs.shape[-1]))  # (batch, T, dim)
        return _zero_padded(inputs + ops.cast(encoding, inputs.dtype), mask)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="ser_keras")
class DotSelfAttention(keras.layers.Layer):
    """Parameter-free self-attention ``softmax(X X^T / s) X`` over one sequence, ``s = sqrt(dim)``
    (``scaled=True``) or 1 (Luong et al.'s dot score, Keras' ``Attention()([x, x])``).

    Input and output ``(batch, time, dim)``; padded keys get weight 0, padded steps output 0.
    Memory is O(time^2) per sample (the scores), no O(time^2 * dim) term; computed in float32
    (also under mixed precision) and returned in the input's dtype.
    """

    def __init__(self, scaled=True, **kwargs):
        super().__init__(**kwargs)
        self.scaled = bool(scaled)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        # float32 throughout (a float16 dot product of long vectors can overflow)
        x = _zero_padded(ops.cast(inputs, "float32"), mask)
        scores = ops.matmul(x, ops.transpose(x, (0, 2, 1)))  # (batch, T, T)
        if self.scaled:
            scores = scores / math.sqrt(int(inputs.shape[-1]))
        key_mask = None if mask is None else ops.expand_dims(mask, 1)  # (batch, 1, T)
        weights = masked_softmax(scores, key_mask)  # (batch, T, T)
        return ops.cast(_zero_padded(ops.matmul(weights, x), mask), inputs.dtype)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["scaled"] = self.scaled
        return config


__all__ = ["DotSelfAttention", "SinusoidalPositionalEncoding", "TransformerEncoder",
           "sinusoidal_encoding", "transformer_encoder_params"]
