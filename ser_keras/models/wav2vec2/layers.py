"""The layers of the wav2vec 2.0 backbone, ``keras.layers`` / ``keras.ops`` only (any backend).

Each mirrors one module of transformers' ``modeling_wav2vec2.py`` (named in its docstring), so
that a Hugging Face checkpoint's tensors map one to one (``weights.py``):

    AudioNormalization          Wav2Vec2FeatureExtractor's do_normalize, over real samples
    Wav2Vec2FeatureEncoder      Wav2Vec2FeatureEncoder (7 conv layers) + the frame mask
    MaskedGroupNormalization    the GroupNorm of its first layer, over real frames only
    PositionalConvEmbedding     Wav2Vec2PositionalConvEmbedding (weight-normed grouped conv)
    FrameMasking                "make sure padded tokens output 0" before the encoder
    Wav2Vec2Attention           Wav2Vec2Attention with the padding mask on the keys
    Wav2Vec2EncoderLayer        Wav2Vec2EncoderLayer (post-LN) / ...StableLayerNorm (pre-LN)

Padding: audio comes right-padded with a (batch, samples) mask. Frame lengths follow the conv
arithmetic of transformers' ``_get_feat_extract_output_lengths``, ``floor((n - k) / s) + 1``
per layer; real frames only ever read real samples, padded keys are never attended to, and
the first layer's GroupNorm takes its statistics over the real frames, so a padded batch gives
every utterance what it gives alone. (transformers' GroupNorm runs over the padding too, which
is why its docs tell wav2vec2-base users not to batch with an attention mask; alone, without
padding, the two agree.) An utterance shorter than the receptive field (400 samples = 25 ms
for the base encoder) is zero-padded to it: one frame, where transformers would fail.
"""
from __future__ import annotations

import math

import keras
from keras import ops

from ser_keras.layers.attention import masked_softmax
from ser_keras.models.wav2vec2.config import (ACTIVATIONS, GROUP_NORM_EPSILON,
                                              NORMALIZE_EPSILON)


def activation(name: str):
    """transformers' ACT2FN[name] as a Keras function ("gelu" is the exact, erf GELU)."""
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name == "relu":
        return keras.activations.relu
    if name in ("silu", "swish"):
        return keras.activations.silu
    raise ValueError(f"activation {name!r} not in {list(ACTIVATIONS)}")


def conv_output_lengths(lengths, kernels, strides):
    """Frames after each conv layer for ``lengths`` input samples (int tensor (batch,)):
    transformers' ``floor((n - kernel) / stride) + 1``, at least 1 (see the module docstring)."""
    out = []
    for kernel, stride in zip(kernels, strides):
        lengths = ops.maximum(ops.floor_divide(lengths - kernel, stride) + 1, 1)
        out.append(lengths)
    return out


def sequence_mask(lengths, steps, dtype="float32"):
    """(batch, steps) mask, 1 on the first ``lengths[b]`` steps."""
    return ops.cast(ops.arange(steps)[None, :] < lengths[:, None], dtype)


def _pad_time_to(x, minimum: int):
    """Zero-pad axis 1 of ``x`` (batch, time, ...) to at least ``minimum`` steps."""
    steps = x.shape[1]
    if steps is not None:  # static (JAX, torch, eager TF): a Python amount
        amount = max(0, minimum - steps)
        if amount == 0:
            return x
    else:
        amount = ops.maximum(0, minimum - ops.shape(x)[1])
    widths = [[0, 0], [0, amount]] + [[0, 0]] * (len(x.shape) - 2)
    return ops.pad(x, widths)


@keras.saving.register_keras_serializable(package="ser_keras")
class AudioNormalization(keras.layers.Layer):
    """(batch, samples, 1) audio -> (batch, samples): zero mean, unit variance per utterance
    over its real samples, ``(x - mean) / sqrt(var + 1e-7)`` (transformers'
    ``Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm``), padding set to 0 after it, as the
    feature extractor pads. ``normalize=False`` only zeroes the padding (do_normalize false).

    Use it with ``dtype="float32"``: sums over 10^5 samples overflow float16.
    """

    def __init__(self, normalize=True, epsilon=NORMALIZE_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.normalize = normalize
        self.epsilon = epsilon

    def call(self, audio, audio_mask):
        x = ops.cast(audio[..., 0] if len(audio.shape) == 3 else audio, "float32")
        mask = ops.cast(audio_mask, "float32")                       # (batch, samples)
        if self.normalize:
            count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
            mean = ops.sum(x * mask, axis=1, keepdims=True) / count
            var = ops.sum(ops.square((x - mean) * mask), axis=1, keepdims=True) / count
            x = (x - mean) / ops.sqrt(var + self.epsilon)
        return x * mask                                              # (batch, samples)

    def compute_output_shape(self, audio_shape, audio_mask_shape=None):
        return tuple(audio_shape[:2])

    def get_config(self):
        return {**super().get_config(), "normalize": self.normalize, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="ser_keras")
class MaskedGroupNormalization(keras.layers.Layer):
    """transformers' ``nn.GroupNorm(num_groups=C, num_channels=C)`` of the first conv layer
    (each channel normalised over time, biased variance, eps 1e-5, affine), with statistics
    over the real frames only: (batch, frames, C), (batch, frames) -> (batch, frames, C).

    Use it with ``dtype="float32"`` (sums over the frames)."""

    def __init__(self, epsilon=GROUP_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, x_shape, frame_mask_shape=None):
        channels = x_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x, frame_mask):
        x = ops.cast(x, self.compute_dtype)
        weights = ops.cast(frame_mask, x.dtype)[:, :, None]            # (batch, frames, 1)
        count = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        mean = ops.sum(x * weights, axis=1, keepdims=True) / count    # (batch, 1, C)
        var = ops.sum(ops.square((x - mean) * weights), axis=1, keepdims=True) / count
        return (x - mean) * ops.rsqrt(var + self.epsilon) * self.gamma + self.beta

    def compute_output_shape(self, x_shape, frame_mask_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="ser_keras")
class Wav2Vec2FeatureEncoder(keras.layers.Layer):
    """transformers' ``Wav2Vec2FeatureEncoder``: conv layers (``conv_dim``, ``conv_kernel``,
    ``conv_stride``, ``conv_bias``) on the samples, each followed by the activation; with
    ``feat_extract_norm`` "group" a GroupNorm after the first conv only (base checkpoints),
    with "layer" a LayerNorm after every conv (large). Returns the frames and their mask:
    (batch, samples), (batch, samples) -> (batch, frames, conv_dim[-1]), (batch, frames).

    ``trainable=False`` is alqurashi2024's "we freeze the CNN-based feature encoder".
    """

    def __init__(self, conv_dim, conv_kernel, conv_stride, conv_bias=False,
                 feat_extract_norm="group", feat_extract_activation="gelu", **kwargs):
        super().__init__(**kwargs)
        self.conv_dim = tuple(conv_dim)
        self.conv_kernel = tuple(conv_kernel)
        self.conv_stride = tuple(conv_stride)
        self.conv_bias = conv_bias
        self.feat_extract_norm = feat_extract_norm
        self.feat_extract_activation = feat_extract_activation
        self._activation = activation(feat_extract_activation)
        self.convs = [keras.layers.Conv1D(dim, kernel, strides=stride, use_bias=conv_bias,
                                          dtype=self.dtype_policy, name=f"conv_{i}")
                      for i, (dim, kernel, stride)
                      in enumerate(zip(self.conv_dim, self.conv_kernel, self.conv_stride))]
        if feat_extract_norm == "group":
            self.norms = [MaskedGroupNormalization(dtype="float32", name="norm_0")]
        else:
            # torch nn.LayerNorm's default eps (transformers passes no layer_norm_eps here)
            self.norms = [keras.layers.LayerNormalization(epsilon=GROUP_NORM_EPSILON,
                                                          dtype=self.dtype_policy,
                                                          name=f"norm_{i}")
                          for i in range(len(self.conv_dim))]
        field = 1
        for kernel, stride in reversed(list(zip(self.conv_kernel, self.conv_stride))):
            field = (field - 1) * stride + kernel
        self.receptive_field = field

    def build(self, samples_shape, sample_mask_shape=None):
        shape = (samples_shape[0], None, 1)
        for i, conv in enumerate(self.convs):
            conv.build(shape)
            shape = (shape[0], None, self.conv_dim[i])
            if self.feat_extract_norm == "layer":
                self.norms[i].build(shape)
            elif i == 0:
                self.norms[0].build(shape, (shape[0], None))

    def call(self, samples, sample_mask):
        lengths = ops.cast(ops.round(ops.sum(ops.cast(sample_mask, "float32"), axis=1)),
                           "int32")                                    # (batch,)
        frame_lengths = conv_output_lengths(lengths, self.conv_kernel, self.conv_stride)
        x = ops.expand_dims(_pad_time_to(samples, self.receptive_field), -1)  # (batch, S, 1)
        for i, conv in enumerate(self.convs):
            x = conv(x)                                                # (batch, frames_i, c)
            if self.feat_extract_norm == "layer":
                x = self.norms[i](x)
            elif i == 0:
                mask = sequence_mask(frame_lengths[0], ops.shape(x)[1], "float32")
                x = ops.cast(self.norms[0](x, mask), x.dtype)
            x = self._activation(x)
        return x, sequence_mask(frame_lengths[-1], ops.shape(x)[1], "float32")

    def compute_output_spec(self, samples, sample_mask):
        frames = keras.KerasTensor((samples.shape[0], None, self.conv_dim[-1]),
                                   dtype=self.compute_dtype)
        return frames, keras.KerasTensor((samples.shape[0], None), dtype="float32")

    def get_config(self):
        return {**super().get_config(), "conv_dim": list(self.conv_dim),
                "conv_kernel": list(self.conv_kernel), "conv_stride": list(self.conv_stride),
                "conv_bias": self.conv_bias, "feat_extract_norm": self.feat_extract_norm,
                "feat_extract_activation": self.feat_extract_activation}


@keras.saving.register_keras_serializable(package="ser_keras")
class PositionalConvEmbedding(keras.layers.Layer):
    """transformers' ``Wav2Vec2PositionalConvEmbedding``: a weight-normed (``weight = g v /
    ||v||``, the norm over all but the kernel axis: torch ``weight_norm(dim=2)``) grouped conv
    of ``kernel_size`` taps, zero padding ``kernel_size // 2`` each side, the last frame
    dropped for an even kernel (``Wav2Vec2SamePadLayer``), then the activation:
    (batch, frames, hidden) -> (batch, frames, hidden).

    Weights in Keras layout: ``weight_v`` (kernel, hidden / groups, hidden), ``weight_g``
    (kernel,), ``bias`` (hidden,).
    """

    def __init__(self, kernel_size=128, groups=16, activation_name="gelu", **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.groups = groups
        self.activation_name = activation_name
        self._activation = activation(activation_name)

    def build(self, x_shape):
        hidden = x_shape[-1]
        if hidden % self.groups:
            raise ValueError(f"hidden size {hidden} is not a multiple of {self.groups} groups")
        # transformers' init: normal(0, 2 / sqrt(kernel * hidden)); weight_norm sets g = ||v||
        std = 2.0 * math.sqrt(1.0 / (self.kernel_size * hidden))
        self.weight_v = self.add_weight(
            shape=(self.kernel_size, hidden // self.groups, hidden), name="weight_v",
            initializer=keras.initializers.RandomNormal(stddev=std))
        # for an i.i.d. normal v, ||v|| per tap is about std * sqrt(hidden^2 / groups)
        self.weight_g = self.add_weight(
            shape=(self.kernel_size,), name="weight_g",
            initializer=keras.initializers.Constant(std * hidden / math.sqrt(self.groups)))
        self.bias = self.add_weight(shape=(hidden,), initializer="zeros", name="bias")

    def kernel(self):
        """The effective (kernel, hidden / groups, hidden) kernel, g v / ||v||, in float32."""
        v = ops.cast(self.weight_v, "float32")
        norm = ops.sqrt(ops.sum(ops.square(v), axis=(1, 2), keepdims=True))
        return ops.cast(self.weight_g, "float32")[:, None, None] * v / norm

    def call(self, x):
        half = self.kernel_size // 2
        x = ops.pad(x, [[0, 0], [half, half], [0, 0]])
        kernel = ops.cast(self.kernel(), x.dtype)
        width = kernel.shape[1]                                       # channels per group
        # one conv per group: TensorFlow's grouped conv on CPU is ~150x slower to train
        # (68 s against 0.4 s for this conv's forward + backward at base size, batch 8 x 5 s)
        y = ops.concatenate([ops.conv(x[..., g * width:(g + 1) * width],
                                      kernel[..., g * width:(g + 1) * width], padding="valid")
                             for g in range(self.groups)], axis=-1)
        y = y + ops.cast(self.bias, y.dtype)                          # (batch, frames (+1), h)
        if self.kernel_size % 2 == 0:
            y = y[:, :-1, :]                                          # Wav2Vec2SamePadLayer
        return self._activation(y)

    def compute_output_shape(self, x_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "groups": self.groups, "activation_name": self.activation_name}


@keras.saving.register_keras_serializable(package="ser_keras")
class FrameMasking(keras.layers.Layer):
    """(batch, frames, dim), (batch, frames) -> the frames with the padded ones set to 0
    (transformers' encoder: "make sure padded tokens output 0")."""

    def call(self, x, frame_mask):
        keep = ops.cast(frame_mask, "bool")[:, :, None]
        return ops.where(keep, x, ops.zeros_like(x))

    def compute_output_shape(self, x_shape, frame_mask_shape=None):
        return x_shape


@keras.saving.register_keras_serializable(package="ser_keras")
class Wav2Vec2Attention(keras.layers.Layer):
    """transformers' ``Wav2Vec2Attention`` (self-attention, biases on q, k, v, out, scores
    scaled by head_dim^-0.5) whose padded keys get weight 0, as its ``attention_mask`` does:
    (batch, frames, hidden), (batch, frames) -> (batch, frames, hidden)."""

    def __init__(self, hidden_size, num_heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.dropout = dropout
        self.head_dim = hidden_size // num_heads
        dense = dict(dtype=self.dtype_policy)
        self.q_proj = keras.layers.Dense(hidden_size, name="q_proj", **dense)
        self.k_proj = keras.layers.Dense(hidden_size, name="k_proj", **dense)
        self.v_proj = keras.layers.Dense(hidden_size, name="v_proj", **dense)
        self.out_proj = keras.layers.Dense(hidden_size, name="out_proj", **dense)
        self.attention_dropout = keras.layers.Dropout(dropout, name="attention_dropout")

    def build(self, x_shape, frame_mask_shape=None):
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            proj.build(x_shape)

    def _heads(self, x):
        x = ops.reshape(x, (ops.shape(x)[0], -1, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))                          # (batch, heads, T, d)

    def call(self, x, frame_mask, training=None):
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), \
            self._heads(self.v_proj(x))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (self.head_dim ** -0.5)
        weights = masked_softmax(scores, frame_mask[:, None, None, :])  # (batch, h, T, T)
        weights = self.attention_dropout(weights, training=training)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))  # (batch, T, h, d)
        context = ops.reshape(context, (ops.shape(x)[0], -1, self.hidden_size))
        return self.out_proj(context)

    def compute_output_shape(self, x_shape, frame_mask_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "num_heads": self.num_heads, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="ser_keras")
class Wav2Vec2EncoderLayer(keras.layers.Layer):
    """One transformer layer: transformers' ``Wav2Vec2EncoderLayer`` (post-LN, base) or, with
    ``stable_layer_norm``, ``Wav2Vec2EncoderLayerStableLayerNorm`` (pre-LN, large):

        post-LN  x = LN(x + drop(attn(x)));        x = final_LN(x + ff(x))
        pre-LN   x = x + drop(attn(LN(x)));         x = x + ff(final_LN(x))
        ff(x)    = drop(Dense(hidden)(drop(act(Dense(intermediate)(x)))))

    ``layerdrop`` (training only): the whole layer is skipped with that probability per batch
    (transformers' LayerDrop). (batch, frames, hidden), (batch, frames) -> the same shape.
    """

    def __init__(self, hidden_size, num_attention_heads, intermediate_size, hidden_act="gelu",
                 hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.1,
                 layer_norm_eps=1e-5, stable_layer_norm=False, layerdrop=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.layer_norm_eps = layer_norm_eps
        self.stable_layer_norm = stable_layer_norm
        self.layerdrop = layerdrop
        self.seed = seed
        self._activation = activation(hidden_act)
        policy = dict(dtype=self.dtype_policy)
        self.attention = Wav2Vec2Attention(hidden_size, num_attention_heads, attention_dropout,
                                           name="attention", **policy)
        self.dropout = keras.layers.Dropout(hidden_dropout, name="dropout")
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_eps,
                                                          name="layer_norm", **policy)
        self.intermediate_dense = keras.layers.Dense(intermediate_size,
                                                     name="intermediate_dense", **policy)
        self.intermediate_dropout = keras.layers.Dropout(activation_dropout,
                                                         name="intermediate_dropout")
        self.output_dense = keras.layers.Dense(hidden_size, name="output_dense", **policy)
        self.output_dropout = keras.layers.Dropout(hidden_dropout, name="output_dropout")
        self.final_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, name="final_layer_norm", **policy)
        self.seed_generator = keras.random.SeedGenerator(seed) if layerdrop > 0 else None

    def build(self, x_shape, frame_mask_shape=None):
        self.attention.build(x_shape, frame_mask_shape)
        self.layer_norm.build(x_shape)
        self.final_layer_norm.build(x_shape)
        self.intermediate_dense.build(x_shape)
        self.output_dense.build((*x_shape[:-1], self.intermediate_size))

    def _feed_forward(self, x, training):
        x = self.intermediate_dropout(self._activation(self.intermediate_dense(x)),
                                      training=training)
        return self.output_dropout(self.output_dense(x), training=training)

    def call(self, x, frame_mask, training=None):
        residual = x
        if self.stable_layer_norm:
            h = self.attention(self.layer_norm(x), frame_mask, training=training)
            h = residual + self.dropout(h, training=training)
            out = h + self._feed_forward(self.final_layer_norm(h), training)
        else:
            h = self.attention(x, frame_mask, training=training)
            h = self.layer_norm(residual + self.dropout(h, training=training))
            out = self.final_layer_norm(h + self._feed_forward(h, training))
        if training and self.layerdrop > 0:
            skip = keras.random.uniform((), seed=self.seed_generator) < self.layerdrop
            out = ops.where(skip, residual, out)
        return out

    def compute_output_shape(self, x_shape, frame_mask_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "num_attention_heads": self.num_attention_heads,
                "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
                "hidden_dropout": self.hidden_dropout,
                "attention_dropout": self.attention_dropout,
                "activation_dropout": self.activation_dropout,
                "layer_norm_eps": self.layer_norm_eps,
                "stable_layer_norm": self.stable_layer_norm, "layerdrop": self.layerdrop,
                "seed": self.seed}


__all__ = ["AudioNormalization", "FrameMasking", "MaskedGroupNormalization",
           "PositionalConvEmbedding", "Wav2Vec2Attention", "Wav2Vec2EncoderLayer",
           "Wav2Vec2FeatureEncoder", "activation", "conv_output_lengths", "sequence_mask"]
