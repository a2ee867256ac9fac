"""Attention layers of the model zoo (Keras 3, ``keras.ops`` only: any backend).

- ``MultiplicativeSelfAttention``: ho2020's level-1 attention, Eqs. (1)-(3).
- ``FusionMultiHeadAttention``: ho2020's level-2 multi-head fusion attention, Eq. (4): queries
  and keys from the audio sequence, values from the text sequence resampled to the audio
  length.

Both mask padded keys (never attended to) and zero the outputs at padded query steps, so
padding a batch further never changes the valid outputs. Masks are ``(batch, time)``, 1 on
valid steps, right-padded (``ser_keras.layers.sequence``).
"""
from __future__ import annotations

import math

import keras
from keras import ops

from ser_keras.layers.sequence import interpolation_weights

# Added to the scores of padded keys before the softmax (computed in float32).
_MASKED_SCORE = -1e9


def masked_softmax(scores, key_mask):
    """Softmax over the last axis that gives padded keys weight 0.

    Args:
        scores: ``(..., T_q, T_k)`` attention logits.
        key_mask: broadcastable to ``scores``, 1/True on valid keys, or None.

    Computed in float32 (safe under mixed precision) and returned in the scores' dtype. A row
    whose keys are all padded gets all-zero weights rather than a uniform distribution. Written
    out (not ``ops.softmax``) so that one-step sequences (T_k = 1) raise no warning.
    """
    dtype = scores.dtype
    scores = ops.cast(scores, "float32")
    if key_mask is None:
        valid = ops.ones_like(scores)
    else:
        valid = ops.cast(ops.broadcast_to(ops.cast(key_mask, "bool"), ops.shape(scores)),
                         "float32")
    scores = ops.where(valid > 0, scores, _MASKED_SCORE)
    top = ops.stop_gradient(ops.max(scores, axis=-1, keepdims=True))
    exp = ops.exp(scores - top) * valid  # padded keys: exactly 0
    total = ops.sum(exp, axis=-1, keepdims=True)
    return ops.cast(exp / ops.maximum(total, 1e-30), dtype)


@keras.saving.register_keras_serializable(package="ser_keras")
class MultiplicativeSelfAttention(keras.layers.Layer):
    """ho2020 level-1 attention (Sec. III-B, Eqs. (1)-(3)) over one sequence.

    ``e_tt' = x_t^T W_a x_t' + b_a``; ``a_t = softmax_t'(e_t)`` over the valid t';
    ``l_t = sum_t' a_tt' x_t'``. Input and output ``(batch, time, dim)``.

    Paper is silent on the shape of b_a beyond "bias value"; we use one scalar (as the Keras
    package keras-self-attention, whose multiplicative attention these equations are written
    as, does). A scalar added to every score cancels in the softmax: b_a is kept for fidelity
    (1 parameter) and has no effect on the output.
    The prose says "previous states x_t'", Eq. (3) sums over all t'; we attend over every
    valid step (no causal mask), as the equations say. No scaling of the scores (Eq. (1)).

    Args:
        kernel_initializer: initializer of W_a (``(dim, dim)``).
        kernel_regularizer: regularizer of W_a (ho2020 names none for level 1).
    """

    def __init__(self, kernel_initializer="glorot_normal", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        self.kernel = self.add_weight(  # W_a
            name="kernel", shape=(dim, dim), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")  # b_a

    def call(self, inputs, mask=None):
        keys = ops.transpose(inputs, (0, 2, 1))  # (batch, dim, time)
        scores = ops.matmul(ops.matmul(inputs, self.kernel), keys) + self.bias  # (batch, t, t')
        key_mask = None if mask is None else ops.expand_dims(mask, 1)  # (batch, 1, t')
        weights = masked_softmax(scores, key_mask)  # (batch, t, t')
        context = ops.matmul(weights, inputs)  # (batch, t, dim)
        if mask is not None:
            context = context * ops.cast(mask, context.dtype)[:, :, None]
        return context

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config


@keras.saving.register_keras_serializable(package="ser_keras")
class FusionMultiHeadAttention(keras.layers.Layer):
    """ho2020 level-2 multi-head fusion attention (Sec. III-B, Eq. (4)).

    ``head_i = softmax((A W1_i)(A W2_i)^T / sqrt(d)) R(T W3_i)``,
    ``MultiHead(A, A, T) = [head_1; ...; head_h] W^O``,
    with A the audio level-1 sequence (queries and keys), T the text level-1 sequence and R the
    per-sample linear resampling of the projected text from its valid length onto the audio's
    valid length (``ser_keras.layers.sequence.interpolation_weights``). Call as
    ``layer(audio, text, audio_mask=..., text_mask=...)``; output ``(batch, T_a, units)``,
    zero at padded audio steps.

    Paper is silent on the widths; we use ``units`` (default: the text width) split evenly over
    the heads (d = units / h) and W^O mapping the concatenated heads back to ``units``, because
    that is how the Keras multi-head layer of that time sized a query/key/value call
    (keras-multi-head: every projection and W^O sized to the value's width), and the value is
    the text sequence.
    Paper is silent on projection biases; we use a bias vector per projection (Keras'
    MultiHeadAttention default) and no activation ("linear transformation", Sec. III-B).
    Paper writes the scale as sqrt(d_A1st); we use d = the per-head key width (Vaswani et al.).
    R is applied after W3 as Eq. (4) writes it; both orders give the same result, since
    interpolation weights sum to 1.

    Args:
        num_heads: h (ho2020 App. A: 2).
        units: width of each projection and of the output; None: the text input width.
        kernel_initializer: initializer of W1, W2, W3 and W^O.
        kernel_regularizer: regularizer of W1, W2, W3 and W^O (ho2020 App. A: L2 1e-3).
    """

    def __init__(self, num_heads, units=None, kernel_initializer="glorot_uniform",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.units = None if units is None else int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = True

    def _kernel(self, name, shape, matrix):
        # Initialised as the paper's 2-D matrix `matrix` (e.g. W1 = [W1_1 ... W1_h], (D_a, units))
        # and viewed per head as `shape`: glorot then scales like a Dense of the matrix's size.
        def initializer(shape, dtype=None):
            return ops.reshape(self.kernel_initializer(matrix, dtype=dtype), shape)

        return self.add_weight(name=name, shape=shape, initializer=initializer,
                               regularizer=self.kernel_regularizer)

    def build(self, audio_shape, text_shape):
        units = self.units or text_shape[-1]
        if units % self.num_heads:
            raise ValueError(f"{self.name}: units {units} must be divisible by "
                             f"num_heads {self.num_heads}")
        heads, head_dim = self.num_heads, units // self.num_heads
        audio_dim, text_dim = audio_shape[-1], text_shape[-1]
        self.query_kernel = self._kernel(  # W1_i
            "query_kernel", (audio_dim, heads, head_dim), (audio_dim, units))
        self.key_kernel = self._kernel(  # W2_i
            "key_kernel", (audio_dim, heads, head_dim), (audio_dim, units))
        self.value_kernel = self._kernel(  # W3_i
            "value_kernel", (text_dim, heads, head_dim), (text_dim, units))
        self.output_kernel = self._kernel(  # W^O
            "output_kernel", (heads, head_dim, units), (units, units))
        self.query_bias = self.add_weight(name="query_bias", shape=(heads, head_dim),
                                          initializer="zeros")
        self.key_bias = self.add_weight(name="key_bias", shape=(heads, head_dim),
                                        initializer="zeros")
        self.value_bias = self.add_weight(name="value_bias", shape=(heads, head_dim),
                                          initializer="zeros")
        self.output_bias = self.add_weight(name="output_bias", shape=(units,),
                                           initializer="zeros")
        self._head_dim = head_dim

    def call(self, audio, text, audio_mask=None, text_mask=None):
        if audio_mask is None:
            audio_mask = ops.ones(ops.shape(audio)[:2])
        if text_mask is None:
            text_mask = ops.ones(ops.shape(text)[:2])
        project = "btd,dhk->bthk"
        query = ops.einsum(project, audio, self.query_kernel) + self.query_bias  # (b, T_a, h, d)
        key = ops.einsum(project, audio, self.key_kernel) + self.key_bias  # (b, T_a, h, d)
        value = ops.einsum(project, text, self.value_kernel) + self.value_bias  # (b, T_w, h, d)
        resample = interpolation_weights(text_mask, audio_mask)  # (batch, T_a, T_w)
        resample = ops.cast(resample, value.dtype)
        value = ops.einsum("bts,bshk->bthk", resample, value)  # R(T W3_i): (b, T_a, h, d)
        scores = ops.einsum("bqhk,bshk->bhqs", query, key)  # (batch, h, T_a, T_a)
        scores = scores / ops.cast(math.sqrt(self._head_dim), scores.dtype)
        key_mask = ops.expand_dims(ops.expand_dims(audio_mask, 1), 1)  # (batch, 1, 1, T_a)
        weights = masked_softmax(scores, key_mask)  # (batch, h, T_a, T_a)
        heads = ops.einsum("bhqs,bshk->bqhk", weights, value)  # (batch, T_a, h, d)
        output = ops.einsum("bqhk,hku->bqu", heads, self.output_kernel)  # W^O: (batch, T_a, units)
        output = output + self.output_bias
        return output * ops.cast(audio_mask, output.dtype)[:, :, None]

    def compute_mask(self, audio, text, audio_mask=None, text_mask=None):
        return None if audio_mask is None else ops.cast(audio_mask, "bool")

    def compute_output_shape(self, audio_shape, text_shape):
        units = self.units or text_shape[-1]
        return (audio_shape[0], audio_shape[1], units)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config
