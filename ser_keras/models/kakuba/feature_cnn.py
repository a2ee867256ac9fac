"""``feature-cnn``: the acoustic-feature model of kakuba2023 Sec. III-A (Fig. 2, Table 4).

"four convolution layers each with pooling layers where necessary for local feature extraction
and self-attention and bidirectional layers of 64 units ... before the feature representations
are fed into a dense layer and a subsequent softmax layer for classification ... the exponential
linear unit (ELU) as the activation function."

    >>> from ser_keras import models
    >>> model = models.build_model("feature-cnn", models.paper_spec("feature-cnn"))  # 39 -> 4

Input: ``audio`` (batch, dim), a ``vector`` input (no mask): the mean over frames of a feature
set or several concatenated (``mfcc39_mean``, ``mel_mean``, ``mfcc39_mean+mel_mean``,
``mfcc39_mean+chroma_mean+mel_mean``), or a fixed-length waveform (``raw_fixed``, 48000
samples). Output: softmax (batch, num_classes), or linear values when the spec asks.
"""
from __future__ import annotations

import dataclasses

import keras

from ser_keras.layers import DotSelfAttention
from ser_keras.models.heads import output_layer
from ser_keras.models.kakuba.common import (
    PAPER_NUM_CLASSES,
    TRAINING_RECURRENT,
    VECTOR_AUDIO_INPUT,
    bilstm,
    check_activation,
    check_non_negative,
    check_positive,
    check_rate,
    check_widths,
    l2 as l2_regularizer,
)
from ser_keras.models.registry import InputSpec, ModelConfig

FAMILY = "feature_cnn"
TRAINING = TRAINING_RECURRENT  # Table 2 recipe; Adam lr 1e-3 (the range's top, Keras' default)


@dataclasses.dataclass
class FeatureCNNConfig(ModelConfig):
    """Hyperparameters of the Fig. 2 model; each default cites its source or says "silent"."""

    # Sec. III-A: four convolution layers; widths silent: 128 filters, the paper's only given
    # convolution width (Sec. III-C).
    conv_filters: tuple[int, ...] = (128, 128, 128, 128)
    kernel_size: int = 3        # silent: Sec. III-C's kernel size 3
    pool_size: int = 2          # Sec. III-A "pooling layers where necessary"; size silent: 2
    # A conv is followed by MaxPooling(pool_size) only while the pooled length stays >= this:
    # "where necessary" read as "while the feature axis is long enough" (12 .. 48000 dims).
    pool_min_length: int = 8
    lstm_units: int = 64        # Sec. III-A: bidirectional layers of 64 units
    # Sec. III-A says "bidirectional layers" (plural) without a count; one is our choice
    lstm_layers: int = 1
    dense_units: int = 128      # Sec. III-A "a dense layer"; width silent: 128 (Sec. III-C's)
    activation: str = "elu"     # Sec. III-A: ELU
    dropout: float = 0.5        # Table 2: 20 % - 50 %; silent where: after the dense layer
    l2: float = 1e-5            # Table 2: kernel L2 1e-5 (conv and dense kernels)
    # silent: BatchNormalization of the input vector (per feature), see FeatureCNN
    input_norm: bool = True
    attention_scaled: bool = True  # silent: 1/sqrt(d) in the dot-product self-attention

    def validate(self) -> None:
        check_widths(FAMILY, self, "conv_filters", allow_empty=False)
        check_positive(FAMILY, self, "kernel_size", "pool_size", "pool_min_length",
                       "lstm_units", "lstm_layers", "dense_units")
        check_rate(FAMILY, self, "dropout")
        check_non_negative(FAMILY, self, "l2")
        check_activation(FAMILY, self, "activation")


def pooled_lengths(dim: int, num_convs: int, pool_size: int, pool_min_length: int):
    """Feature-axis length after each conv block: pooled (floor) when it stays >= the minimum."""
    lengths, length = [], dim
    for _ in range(num_convs):
        if pool_size > 1 and length // pool_size >= pool_min_length:
            length //= pool_size
        lengths.append(length)
    return lengths


@keras.saving.register_keras_serializable(package="ser_keras")
class FeatureCNN(keras.Model):
    """kakuba2023 Fig. 2: [BatchNorm] -> the vector as a (dim, 1) sequence -> per
    ``conv_filters`` entry Conv1D(ELU) [-> MaxPooling1D] -> dot-product self-attention ->
    [BiLSTM(64) (sequences)] x (``lstm_layers`` - 1) -> BiLSTM(64) (final states) ->
    Dense(ELU) -> Dropout -> softmax.

    Where the paper is silent (each: "paper is silent on X; we use Y because Z"):
    - How a vector feeds a Conv1D: paper is silent; we read the dim-long vector as a 1-channel
      sequence so the convolutions run along the feature axis, because Sec. III-A feeds the
      mean-over-frames vector to "four convolution layers each with pooling layers" (line
      ~214 of the text copy; Fig. 2 itself is not in it), the common reading of such models.
    - Conv widths and kernel: paper is silent; we use 128 filters, kernel 3, "same" padding,
      because Sec. III-C gives those for the paper's other convolutions.
    - "Pooling where necessary": paper is silent; we use MaxPooling1D(2) after a conv while
      the pooled length stays >= 8 (39 -> 19, 9, 9, 9; 12: no pooling; 167 -> 83, 41, 20, 10;
      48000 -> 24000, ..., 3000 with the default pool size 2), because the inputs range from
      12 to 48000 dims and a fixed pooling count cannot serve both; 8 steps keep something for
      the attention and BiLSTM. The raw-signal cell of experiments/kakuba2023/table4.yaml sets
      ``pool_size: 4`` (48000 -> 12000, 3000, 750, 187).
    - Self-attention: paper is silent on its form; we use parameter-free scaled dot-product
      self-attention over the conv output, because it adds no weights and no O(T^2 * d) memory
      on long sequences (187 steps for the Table 4 raw signal, 3000 at the default pool size).
    - Number of BiLSTM layers: Sec. III-A says "bidirectional layers of 64 units" (plural)
      without a count; we use one (``lstm_layers=1``, our choice), more stack returning
      sequences.
    - BiLSTM output: paper is silent; we use its final states (return_sequences=False, Keras'
      default) because a dense layer follows.
    - Dense width 128, dropout 0.5 after it: paper is silent; 128 is the paper's dense width
      (Sec. III-C), 0.5 the top of Table 2's range (EmoDB has 535 utterances).
    - Input standardisation: paper is silent; we put a BatchNormalization on the input vector
      (per feature, statistics learnt from the training data), because the concatenated means
      mix scales orders of magnitude apart (power Mel means beside MFCCs).

    Args:
        input_dim: width of the input vector.
        num_outputs: classes (softmax) or continuous targets (linear).
        output: "classes" or "values".
        input_name: name of the model input.
        The other arguments are the ``FeatureCNNConfig`` fields.
    """

    def __init__(self, input_dim, num_outputs, conv_filters, kernel_size, pool_size,
                 pool_min_length, lstm_units, dense_units, activation, dropout, l2, input_norm,
                 attention_scaled, lstm_layers=1, output="classes", input_name="audio",
                 **kwargs):
        conv_filters = tuple(int(f) for f in conv_filters)
        lengths = pooled_lengths(input_dim, len(conv_filters), pool_size, pool_min_length)

        # === Layers ===
        norm = keras.layers.BatchNormalization(name="input_norm") if input_norm else None
        blocks = []
        previous = input_dim
        for i, (filters, length) in enumerate(zip(conv_filters, lengths)):
            # Sec. III-A: four conv layers, ELU; Table 2: L2 1e-5, Glorot uniform
            conv = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                       activation=activation, kernel_regularizer=l2_regularizer(l2),
                                       kernel_initializer="glorot_uniform", name=f"conv_{i}")
            # Sec. III-A: pooling "where necessary" (see the class docstring)
            pool = (keras.layers.MaxPooling1D(pool_size, name=f"pool_{i}")
                    if length != previous else None)
            blocks.append((conv, pool))
            previous = length
        # Sec. III-A: self-attention for the global context
        attention = DotSelfAttention(scaled=attention_scaled, name="self_attention")
        # Sec. III-A: bidirectional layers of 64 units (tanh, Sec. III-B); the count is ours
        stacked = [bilstm(lstm_units, return_sequences=True, name=f"bilstm_{i}")
                   for i in range(int(lstm_layers) - 1)]
        recurrent = bilstm(lstm_units, return_sequences=False, name="bilstm")
        # Sec. III-A: a dense layer (ELU) and a softmax layer
        dense = keras.layers.Dense(dense_units, activation=activation,
                                   kernel_regularizer=l2_regularizer(l2), name="dense")
        drop = keras.layers.Dropout(dropout, name="dropout")
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        x_input = keras.Input(shape=(input_dim,), name=input_name)
        x = norm(x_input) if norm is not None else x_input  # (batch, dim)
        x = keras.layers.Reshape((input_dim, 1), name="as_sequence")(x)  # (batch, dim, 1)
        for conv, pool in blocks:
            x = conv(x)  # (batch, L, filters)
            if pool is not None:
                x = pool(x)  # (batch, L // pool_size, filters)
        x = attention(x)  # (batch, L, filters)
        for layer in stacked:
            x = layer(x)  # (batch, L, 2 * lstm_units)
        x = recurrent(x)  # (batch, 2 * lstm_units)
        x = drop(dense(x))  # (batch, dense_units)
        outputs = head(x)  # (batch, num_outputs)
        super().__init__(inputs={input_name: x_input}, outputs=outputs, **kwargs)

        # === Config ===
        self.input_dim = input_dim
        self.num_outputs = num_outputs
        self.output_kind = output
        self.input_name = input_name
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.pool_min_length = pool_min_length
        self.lstm_units = lstm_units
        self.dense_units = dense_units
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
        self.input_norm = input_norm
        self.attention_scaled = attention_scaled
        self.lstm_layers = int(lstm_layers)
        self.sequence_lengths = tuple(lengths)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dim": self.input_dim,
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "input_name": self.input_name,
            "conv_filters": list(self.conv_filters),
            "kernel_size": self.kernel_size,
            "pool_size": self.pool_size,
            "pool_min_length": self.pool_min_length,
            "lstm_units": self.lstm_units,
            "dense_units": self.dense_units,
            "activation": self.activation,
            "dropout": self.dropout,
            "l2": self.l2,
            "input_norm": self.input_norm,
            "attention_scaled": self.attention_scaled,
            "lstm_layers": self.lstm_layers,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_feature_cnn(input_spec: InputSpec, config: FeatureCNNConfig, entry) -> FeatureCNN:
    """Registry builder of ``feature-cnn``: one vector input (the entry's)."""
    (decl,) = entry.inputs
    return FeatureCNN(input_dim=input_spec.dim(decl.name), num_outputs=input_spec.num_outputs,
                      output=input_spec.output, input_name=decl.name,
                      name=entry.name.replace("-", "_"), **config.to_dict())


__all__ = ["FeatureCNN", "FeatureCNNConfig", "PAPER_NUM_CLASSES", "TRAINING",
           "VECTOR_AUDIO_INPUT", "build_feature_cnn", "pooled_lengths"]
