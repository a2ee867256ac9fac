"""The BiLSTM models of kakuba2023 Sec. III-B (Tables 5, 6): one builder, three entries.

    bilstm-audio    audio only   "two BiLSTM layers of 128 units each, two dense layers with a
    bilstm-text     text only    softmax layer ... Layer normalization was configured with a
                                 dropout regularization rate of 0.5"
    bilstm-bimodal  audio + text "only BiLSTM layers ... for both acoustic and lexical branches
                                 before splicing them to form inputs for the global feature
                                 learning block (GFLB) in an intermediate-level fusion ... All the
                                 BiLSTM layers had 256 units with dropout regularization and
                                 layer normalization" (Table 5: fusion level "Multi")

    >>> from ser_keras import models
    >>> model = models.build_model("bilstm-bimodal", models.paper_spec("bilstm-bimodal"))

Inputs: ``sequence`` inputs ``audio`` (MFCC frames) and/or ``text`` (BERT token embeddings),
each with its ``_mask``. Output: softmax (batch, num_classes), or linear values.
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from ser_keras.layers import MaskedGlobalAveragePooling1D
from ser_keras.models.heads import output_layer
from ser_keras.models.kakuba.common import (
    AUDIO_INPUT,
    PAPER_NUM_CLASSES,
    TEXT_INPUT,
    TRAINING_RECURRENT,
    bilstm,
    check_choice,
    check_non_negative,
    check_rate,
    check_widths,
    l2 as l2_regularizer,
    zero_padded,
)
from ser_keras.models.kakuba.layers import PackedTimeConcat
from ser_keras.models.registry import InputSpec, ModelConfig

FAMILY = "bilstm"
FUSIONS = ("multi", "single")
TRAINING = TRAINING_RECURRENT  # Table 2 recipe; Adam lr 1e-3 (the range's top, Keras' default)
BIMODAL_DEFAULTS = {"lstm_units": [256]}  # Sec. III-B: "All the BiLSTM layers had 256 units"


@dataclasses.dataclass
class BiLSTMConfig(ModelConfig):
    """Hyperparameters of the Sec. III-B BiLSTM models (unimodal defaults; the bimodal entry
    sets ``lstm_units: [256]``)."""

    lstm_units: tuple[int, ...] = (128, 128)  # Sec. III-B: two BiLSTM layers of 128 units
    # Sec. III-B bimodal: the GFLB's BiLSTM(s), 256 units ("All the BiLSTM layers had 256")
    fusion_units: tuple[int, ...] = (256,)
    dense_units: tuple[int, ...] = (128, 128)  # Sec. III-B: two dense layers; widths silent
    # Sec. III-B: "a dropout regularization rate of 0.5" (the 128-unit models; for the 256-unit
    # bimodal BiLSTMs no rate is given: 0.5 carried over); placing it after each BiLSTM
    # (after its LayerNorm) is our choice
    dropout: float = 0.5
    layer_norm: bool = True     # Sec. III-B: layer normalisation of the BiLSTM outputs
    # Table 5 "Multi": level 1 = the branch sequences into the GFLB, level 2 = the GFLB output
    # with the branch summaries; "single" drops level 2 (bimodal only)
    fusion: str = "multi"
    l2: float = 1e-5            # Table 2: kernel L2 1e-5 (dense kernels)

    def validate(self) -> None:
        check_widths(FAMILY, self, "lstm_units", allow_empty=False)
        check_widths(FAMILY, self, "fusion_units", "dense_units")
        check_rate(FAMILY, self, "dropout")
        check_non_negative(FAMILY, self, "l2")
        check_choice(FAMILY, self, "fusion", FUSIONS)


@keras.saving.register_keras_serializable(package="ser_keras")
class BiLSTMNet(keras.Model):
    """kakuba2023 Sec. III-B BiLSTM models.

    Unimodal (one input): per ``lstm_units`` entry BiLSTM -> LayerNorm -> Dropout, the last
    BiLSTM returning its final states; then per ``dense_units`` entry Dense(ReLU); softmax.

    Bimodal (two inputs): per modality a branch of BiLSTM(256) -> LayerNorm -> Dropout
    (sequences). Level-1 fusion: the two branch sequences concatenated on the time axis
    (``PackedTimeConcat``) feed the GFLB, per ``fusion_units`` entry BiLSTM -> LayerNorm ->
    Dropout, the last returning final states. Level-2 fusion (``fusion="multi"``): the GFLB
    vector concatenated with each branch's masked mean over time. Then the dense layers and
    softmax. ``fusion="single"``: the GFLB vector alone.

    Masks: every BiLSTM skips padded steps, the time concatenation packs valid steps, means are
    over valid steps: padding a batch further never changes a prediction.

    Where the paper is silent (each: "paper is silent on X; we use Y because Z"):
    - Dense widths: paper is silent; we use 128 and 128 (ReLU), the paper's dense width
      (Sec. III-C).
    - Order in a BiLSTM block: paper is silent; we use BiLSTM -> LayerNorm -> Dropout, because
      the LayerNorm "ensure[s] a similar scale of the activations from the LSTM layers".
    - Last BiLSTM's output: paper is silent; we use its final states (Keras' default
      return_sequences=False), because dense layers follow.
    - Bimodal depth: paper is silent; we use one BiLSTM(256) per branch and one in the GFLB,
      so each path has the two BiLSTM layers of the unimodal models.
    - "Splicing" sequences of different lengths (MFCC frames, BERT tokens): paper is silent; we
      concatenate on the time axis, each sample's valid frames then its valid tokens, because
      the widths match (2 x 256) and the lengths do not.
    - What "multi-level" fuses at level 2: paper is silent; we concatenate the GFLB output with
      each branch's mean over time, mirroring DBMER's second fusion (Sec. III-C).
    - Regularisation: Table 2's L2 1e-5 on the dense kernels only, because Sec. III-B names
      dropout and layer normalisation for the BiLSTMs.

    Args:
        input_dims: ``{input name: dim}`` in the entry's order (one or two inputs).
        num_outputs, output: the output head (classes or values).
        The other arguments are the ``BiLSTMConfig`` fields.
    """

    def __init__(self, input_dims, num_outputs, lstm_units, fusion_units, dense_units,
                 dropout, layer_norm, fusion, l2, output="classes", **kwargs):
        input_dims = {str(k): int(v) for k, v in dict(input_dims).items()}
        if len(input_dims) not in (1, 2):
            raise ValueError(f"BiLSTMNet takes one or two inputs, got {list(input_dims)}")
        lstm_units = tuple(int(u) for u in lstm_units)
        fusion_units = tuple(int(u) for u in fusion_units)
        dense_units = tuple(int(u) for u in dense_units)
        bimodal = len(input_dims) == 2
        if bimodal and not fusion_units:
            raise ValueError("a bimodal BiLSTMNet needs fusion_units (the GFLB)")

        def block(prefix, units, last):
            # Sec. III-B: BiLSTM (tanh) with layer normalisation and dropout 0.5
            return (bilstm(units, return_sequences=not last, name=f"{prefix}_bilstm"),
                    keras.layers.LayerNormalization(name=f"{prefix}_norm") if layer_norm
                    else None,
                    keras.layers.Dropout(dropout, name=f"{prefix}_dropout"))

        # === Layers ===
        branches = {}
        for name in input_dims:
            count = len(lstm_units)
            branches[name] = [block(f"{name}_{i}", units, last=not bimodal and i == count - 1)
                              for i, units in enumerate(lstm_units)]
        gflb = [block(f"gflb_{i}", units, last=i == len(fusion_units) - 1)
                for i, units in enumerate(fusion_units)] if bimodal else []
        concat = PackedTimeConcat(name="fusion_1") if bimodal else None
        pooling = MaskedGlobalAveragePooling1D(name="branch_pooling")
        dense = [keras.layers.Dense(units, activation="relu",
                                    kernel_regularizer=l2_regularizer(l2), name=f"dense_{i}")
                 for i, units in enumerate(dense_units)]
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        def run(x, valid, layers):
            for recurrent, norm, drop in layers:
                x = recurrent(x, mask=valid)  # (batch, T, 2u) or (batch, 2u)
                if norm is not None:
                    x = norm(x)
                x = drop(x)
                if len(x.shape) == 3:
                    x = zero_padded(x, valid)
            return x

        # === Functional model ===
        inputs, sequences, masks = {}, [], []
        for name, dim in input_dims.items():
            x_input = keras.Input(shape=(None, dim), name=name)
            mask_input = keras.Input(shape=(None,), name=f"{name}_mask")
            inputs[name], inputs[f"{name}_mask"] = x_input, mask_input
            valid = ops.greater(mask_input, 0.5)  # (batch, T) bool
            x = run(zero_padded(x_input, valid), valid, branches[name])
            sequences.append(x)
            masks.append(valid)
        if bimodal:
            fused, fused_mask = concat(sequences, masks)  # (batch, T_a + T_w, 2u)
            x = run(fused, ops.greater(fused_mask, 0.5), gflb)  # (batch, 2 * gflb units)
            if fusion == "multi":
                summaries = [pooling(s, mask=m) for s, m in zip(sequences, masks)]
                x = keras.layers.Concatenate(name="fusion_2")([x, *summaries])
        else:
            (x,) = sequences  # (batch, 2u): the last BiLSTM's final states
        for layer in dense:
            x = layer(x)  # (batch, units)
        outputs = head(x)  # (batch, num_outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.input_dims = input_dims
        self.num_outputs = num_outputs
        self.output_kind = output
        self.lstm_units = lstm_units
        self.fusion_units = fusion_units
        self.dense_units = dense_units
        self.dropout = dropout
        self.layer_norm = layer_norm
        self.fusion = fusion
        self.l2 = l2

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.input_dims)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dims": dict(self.input_dims),
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "lstm_units": list(self.lstm_units),
            "fusion_units": list(self.fusion_units),
            "dense_units": list(self.dense_units),
            "dropout": self.dropout,
            "layer_norm": self.layer_norm,
            "fusion": self.fusion,
            "l2": self.l2,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_bilstm(input_spec: InputSpec, config: BiLSTMConfig, entry) -> BiLSTMNet:
    """Registry builder of ``bilstm-audio``, ``bilstm-text`` (one input) and
    ``bilstm-bimodal`` (two): the entry's declared inputs are the branches."""
    dims = {name: input_spec.dim(name) for name in entry.input_names}
    return BiLSTMNet(input_dims=dims, num_outputs=input_spec.num_outputs,
                     output=input_spec.output, name=entry.name.replace("-", "_"),
                     **config.to_dict())


__all__ = ["AUDIO_INPUT", "BIMODAL_DEFAULTS", "BiLSTMConfig", "BiLSTMNet", "FUSIONS",
           "PAPER_NUM_CLASSES", "TEXT_INPUT", "TRAINING", "build_bilstm"]
