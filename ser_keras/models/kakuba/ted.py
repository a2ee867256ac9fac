"""The transformer-encoder models of kakuba2023 Sec. III-B (Tables 5, 6): one builder, two
entries.

    ted         TED branches, single-level fusion, a TED global feature learning block
    ted-bilstm  TED branches, single-level fusion, a BiLSTM global feature learning block

"we configured multi-learning models with either only BiLSTM layers or transformer encoders
(TED) which use multi-head attention for both acoustic and lexical branches before splicing
them to form inputs for the global feature learning block (GFLB) ... For the transformer
encoders, we used the positional encoding stated in [38] for the lexical modality and one
convolution layer of 128 filters for the acoustic modality. Four heads were used for multi-head
attention mechanism in each transformer encoder with layer normalization and dropout
regularization of 0.5." Table 5: TED and TED + BiLSTM, fusion level "Single".

    >>> from ser_keras import models
    >>> model = models.build_model("ted", models.paper_spec("ted"))  # 39 / 768 dims, 4 classes

Inputs: ``audio`` (MFCC frames) and ``text`` (BERT token embeddings), ``sequence`` inputs with
masks. Output: softmax (batch, num_classes), or linear values.
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from ser_keras.layers import (
    MaskedGlobalAveragePooling1D,
    SinusoidalPositionalEncoding,
    TransformerEncoder,
)
from ser_keras.models.heads import output_layer
from ser_keras.models.kakuba.common import (
    AUDIO_INPUT,
    PAPER_NUM_CLASSES,
    TEXT_INPUT,
    TRAINING_TRANSFORMER,
    bilstm,
    check_choice,
    check_non_negative,
    check_positive,
    check_rate,
    check_widths,
    l2 as l2_regularizer,
    zero_padded,
)
from ser_keras.models.kakuba.layers import PackedTimeConcat
from ser_keras.models.registry import InputSpec, ModelConfig

FAMILY = "ted"
GFLBS = ("transformer", "bilstm")
TRAINING = TRAINING_TRANSFORMER  # Table 2 recipe; Adam lr 4e-4 (the range's bottom)
TED_BILSTM_DEFAULTS = {"gflb": "bilstm"}


@dataclasses.dataclass
class TEDConfig(ModelConfig):
    """Hyperparameters of TED / TED + BiLSTM; each default cites its source or says "silent".
    The transformer-encoder defaults are DBMER's (``DBMERConfig``), which Sec. III-C takes
    from this subsection."""

    conv_filters: int = 128     # Sec. III-B: one convolution layer of 128 filters (acoustic)
    conv_kernel: int = 3        # silent: Sec. III-C's kernel size 3
    num_heads: int = 4          # Sec. III-B: four heads in each transformer encoder
    # Table 2 gives "Embedding dimension 256"; reading it as the per-head key_dim is ours (it
    # could be d_model)
    key_dim: int = 256
    ff_dim: int = 4             # silent: the keras.io timeseries example call's (see DBMER)
    num_blocks: int = 1         # silent: one encoder block per transformer encoder
    norm_first: bool = True     # silent: pre-norm, the keras.io timeseries block
    # Sec. III-B: dropout 0.5 for the transformer encoders; for the 256-unit BiLSTMs (the
    # ted-bilstm GFLB) it gives no rate ("with dropout regularization and layer
    # normalization"): 0.5 carried over there (our choice)
    dropout: float = 0.5
    # Sec. III-C: "dense layers of 128 units are used to ensure the same dimensions for
    # concatenation where necessary": the 768-d text encoder output is projected to 128
    projection_units: int = 128
    gflb: str = "transformer"   # Table 5: "TED" (transformer) or "TED + BiLSTM" (bilstm)
    lstm_units: int = 256       # Sec. III-B: "All the BiLSTM layers had 256 units"
    head_units: tuple[int, ...] = ()  # silent: the pooled GFLB output feeds the softmax
    l2: float = 1e-5            # Table 2: kernel L2 1e-5 (every conv, dense, attention kernel)

    def validate(self) -> None:
        check_positive(FAMILY, self, "conv_filters", "conv_kernel", "num_heads", "key_dim",
                       "ff_dim", "num_blocks", "projection_units", "lstm_units")
        check_rate(FAMILY, self, "dropout")
        check_choice(FAMILY, self, "gflb", GFLBS)
        check_widths(FAMILY, self, "head_units")
        check_non_negative(FAMILY, self, "l2")


def encoders(prefix, config_values, count):
    """``count`` TransformerEncoder blocks named ``{prefix}_encoder_{i}``."""
    num_heads, key_dim, ff_dim, dropout, norm_first, l2 = config_values
    return [TransformerEncoder(num_heads=num_heads, key_dim=key_dim, ff_dim=ff_dim,
                               dropout=dropout, norm_first=norm_first,
                               kernel_regularizer=l2_regularizer(l2),
                               name=f"{prefix}_encoder_{i}") for i in range(count)]


@keras.saving.register_keras_serializable(package="ser_keras")
class TEDNet(keras.Model):
    """kakuba2023 Sec. III-B TED and TED + BiLSTM.

    Audio branch: Conv1D(128, 3, ReLU) -> transformer encoder (128 wide). Text branch: BERT
    embeddings + sinusoidal positional encoding -> transformer encoder (768 wide) ->
    Dense(128, ReLU). Single-level fusion: the two branch sequences concatenated on the time
    axis (``PackedTimeConcat``) -> GFLB: a transformer encoder (``gflb="transformer"``) or
    BiLSTM(256) -> LayerNorm -> Dropout (``gflb="bilstm"``) -> masked mean over time ->
    [Dense(ReLU) per ``head_units``] -> softmax.

    Masks: the convolution sees zeros past each sample's end (as an unpadded sample would),
    attention never attends to padded keys, the BiLSTM skips padded steps, the concatenation
    packs valid steps, the mean is over valid steps: padding never changes a prediction.

    Where the paper is silent (each: "paper is silent on X; we use Y because Z"):
    - Transformer-encoder widths (key_dim 256, ff_dim 4, pre-norm, one block, no positional
      encoding on audio): paper is silent; we use DBMER's (``DBMERConfig``, where the choice
      is argued from Sec. V-D's counts), because Sec. III-C says DBMER reuses this
      subsection's encoder "configuration".
    - Text encoder width: paper is silent; the encoder runs on the 768-d BERT embeddings (its
      residual connections keep that width), then Dense(128) projects them, because Sec.
      III-B puts no convolution on the text and Sec. III-C uses Dense(128) to match widths.
    - Conv kernel 3, "same" padding, ReLU: paper is silent; Sec. III-C's kernel, Sec. III-B's
      "ReLU ... for all the other layers".
    - "Splicing" for the GFLB: paper is silent; we concatenate on the time axis, each sample's
      valid frames then its valid tokens, because both are 128 wide and their lengths differ.
    - What "TED + BiLSTM" adds: paper is silent; we make the BiLSTM the GFLB (TED branches,
      BiLSTM global block), because the plain TED model's GFLB is then a transformer encoder
      and the two rows of Table 5 differ in one technique.
    - Pooling and head: paper is silent; a masked mean over time, then the softmax directly.

    Args:
        input_dims: ``{"audio": dim, "text": dim}``.
        num_outputs, output: the output head (classes or values).
        The other arguments are the ``TEDConfig`` fields.
    """

    def __init__(self, input_dims, num_outputs, conv_filters, conv_kernel, num_heads, key_dim,
                 ff_dim, num_blocks, norm_first, dropout, projection_units, gflb, lstm_units,
                 head_units, l2, output="classes", **kwargs):
        input_dims = {str(k): int(v) for k, v in dict(input_dims).items()}
        if sorted(input_dims) != ["audio", "text"]:
            raise ValueError(f"TEDNet takes inputs audio and text, got {list(input_dims)}")
        head_units = tuple(int(u) for u in head_units)
        encoder_values = (num_heads, key_dim, ff_dim, dropout, norm_first, l2)

        # === Layers ===
        # Sec. III-B: one convolution layer of 128 filters for the acoustic modality
        audio_conv = keras.layers.Conv1D(conv_filters, conv_kernel, padding="same",
                                         activation="relu",
                                         kernel_regularizer=l2_regularizer(l2),
                                         name="audio_conv")
        # Sec. III-B: the positional encoding of [38] (Vaswani et al.) for the lexical modality
        text_position = SinusoidalPositionalEncoding(name="text_position")
        branch_encoders = {m: encoders(m, encoder_values, num_blocks) for m in input_dims}
        widths = {"audio": conv_filters, "text": input_dims["text"]}
        # Sec. III-C: Dense(128) "to ensure the same dimensions for concatenation where
        # necessary" (here: the text branch, 768 wide; the audio one when its width differs)
        projections = {m: keras.layers.Dense(projection_units, activation="relu",
                                             kernel_regularizer=l2_regularizer(l2),
                                             name=f"{m}_projection")
                       for m in input_dims if widths[m] != projection_units}
        concat = PackedTimeConcat(name="fusion")
        if gflb == "transformer":
            gflb_layers = encoders("gflb", encoder_values, num_blocks)
        else:
            # Sec. III-B: BiLSTM(256) with dropout and layer normalisation
            gflb_layers = [bilstm(lstm_units, return_sequences=True, name="gflb_bilstm"),
                           keras.layers.LayerNormalization(name="gflb_norm"),
                           keras.layers.Dropout(dropout, name="gflb_dropout")]
        pooling = MaskedGlobalAveragePooling1D(name="pooling")
        head_layers = [keras.layers.Dense(units, activation="relu",
                                          kernel_regularizer=l2_regularizer(l2),
                                          name=f"head_dense_{i}")
                       for i, units in enumerate(head_units)]
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        inputs, sequences, masks = {}, [], []
        for name in ("audio", "text"):
            x_input = keras.Input(shape=(None, input_dims[name]), name=name)
            mask_input = keras.Input(shape=(None,), name=f"{name}_mask")
            inputs[name], inputs[f"{name}_mask"] = x_input, mask_input
            valid = ops.greater(mask_input, 0.5)  # (batch, T) bool
            x = zero_padded(x_input, valid)
            if name == "audio":
                x = zero_padded(audio_conv(x), valid)  # (batch, T_a, 128)
            else:
                x = text_position(x, mask=valid)  # (batch, T_w, 768)
            for encoder in branch_encoders[name]:
                x = encoder(x, mask=valid)  # (batch, T, width)
            if name in projections:
                x = zero_padded(projections[name](x), valid)  # (batch, T, 128)
            sequences.append(x)
            masks.append(valid)
        x, fused_mask = concat(sequences, masks)  # (batch, T_a + T_w, 128)
        valid = ops.greater(fused_mask, 0.5)
        if gflb == "transformer":
            for encoder in gflb_layers:
                x = encoder(x, mask=valid)  # (batch, T, 128)
        else:
            recurrent, norm, drop = gflb_layers
            x = zero_padded(drop(norm(recurrent(x, mask=valid))), valid)  # (batch, T, 512)
        x = pooling(x, mask=valid)  # (batch, width)
        for layer in head_layers:
            x = layer(x)
        outputs = head(x)  # (batch, num_outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.input_dims = input_dims
        self.num_outputs = num_outputs
        self.output_kind = output
        self.conv_filters = conv_filters
        self.conv_kernel = conv_kernel
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.ff_dim = ff_dim
        self.num_blocks = num_blocks
        self.norm_first = norm_first
        self.dropout = dropout
        self.projection_units = projection_units
        self.gflb = gflb
        self.lstm_units = lstm_units
        self.head_units = head_units
        self.l2 = l2

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dims": dict(self.input_dims),
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "conv_filters": self.conv_filters,
            "conv_kernel": self.conv_kernel,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "num_blocks": self.num_blocks,
            "norm_first": self.norm_first,
            "dropout": self.dropout,
            "projection_units": self.projection_units,
            "gflb": self.gflb,
            "lstm_units": self.lstm_units,
            "head_units": list(self.head_units),
            "l2": self.l2,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_ted(input_spec: InputSpec, config: TEDConfig, entry) -> TEDNet:
    """Registry builder of ``ted`` and ``ted-bilstm`` (the GFLB is config)."""
    dims = {name: input_spec.dim(name) for name in entry.input_names}
    return TEDNet(input_dims=dims, num_outputs=input_spec.num_outputs, output=input_spec.output,
                  name=entry.name.replace("-", "_"), **config.to_dict())


__all__ = ["AUDIO_INPUT", "GFLBS", "PAPER_NUM_CLASSES", "TED_BILSTM_DEFAULTS", "TEDConfig",
           "TEDNet", "TEXT_INPUT", "TRAINING", "build_ted", "encoders"]
