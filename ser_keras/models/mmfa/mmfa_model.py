"""MMFA-RNN (ho2020): multi-level multi-head fusion attention RNN, and its unimodal baselines.

Ho, Yang, Kim, Lee, "Multimodal Approach of Speech Emotion Recognition Using Multi-Level
Multi-Head Fusion Attention-Based Recurrent Neural Network", IEEE Access 2020
(``/work/shared/papers/ho2020_mmfa_rnn.txt``): Sec. III-B (attention), III-C (model), App. A
(configuration). One builder makes the three registered models; they differ only in the
modalities they take:

    mmfa        audio + text  (Tables 3, 4, 6 "Multimodal (Proposed)")
    mmfa-audio  audio only    (Tables 3, 4, 6 "Audio")
    mmfa-text   text only     (Tables 3, 4, 6 "Text")

    >>> from ser_keras import models
    >>> model = models.build_model("mmfa", models.paper_spec("mmfa"))  # 39 / 768 dims, 4 classes

Inputs (a dict; both are ``sequence`` inputs of the registry): ``audio`` (batch, T_a, D_a),
``audio_mask`` (batch, T_a), ``text`` (batch, T_w, D_w), ``text_mask`` (batch, T_w); masks 1 on
real frames/tokens, 0 on the padding of batches padded to their own longest sample
(Sec. III-C), right-padded. Output (``ser_keras.models.heads.output_layer``): softmax
probabilities (batch, num_classes), or linear values (batch, num_outputs) when the input spec
asks for continuous targets; float32 also under mixed precision.
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from ser_keras.errors import ConfigError
from ser_keras.layers import (
    FusionMultiHeadAttention,
    MaskedGlobalAveragePooling1D,
    MultiplicativeSelfAttention,
    fast_gelu,
)
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec, ModelConfig

MODALITIES = ("audio", "text")

# ho2020 Sec. III-A: openSMILE MFCC, 39 dims per 100 ms frame, 50 ms step.
AUDIO_INPUT = InputDecl("audio", "sequence", default="mfcc39_smile", paper_dim=39,
                        description="frame-level acoustic features (paper: 39 openSMILE MFCCs)")
# ho2020 Sec. III-A: BERT-base token embeddings, 768 dims per token.
TEXT_INPUT = InputDecl("text", "sequence", default="bert_tokens", paper_dim=768,
                       description="token embeddings of the transcript (paper: BERT-base 768)")
PAPER_NUM_CLASSES = 4  # ho2020 Sec. IV-B: four emotions is the main class set (Table 3)

# The recipe of ad-hoc runs (``ser-train --model mmfa``), in the shape of TrainingConfig.
TRAINING = {
    # ho2020 App. A: SGD; paper is silent on momentum, so plain SGD (momentum 0).
    "optimizer": {"name": "sgd", "options": {"momentum": 0.0}},
    "learning_rate": 1e-3,  # ho2020 App. A: learning rate 1e-3
    # ho2020 App. A: "decay of 1e-6", Keras' legacy decay lr / (1 + 1e-6 * step).
    "schedule": {"name": "inverse_time", "options": {"decay_steps": 1, "decay_rate": 1e-6}},
    "loss": {"name": "cross_entropy"},  # ho2020 App. A: cross entropy (it names no weights)
    "epochs": 100,                      # paper is silent; experiments/ho2020/README.md
    "batch_size": 32,                   # paper is silent; experiments/ho2020/README.md
    "selection_metric": "accuracy",     # paper is silent: best validation accuracy
    "patience": 20,                     # paper is silent: stop 20 epochs after the best one
}


@dataclasses.dataclass
class MMFAConfig(ModelConfig):
    """Hyperparameters of MMFA-RNN; defaults are ho2020 App. A."""

    audio_gru_factor: float = 2.0     # ho2020 App. A Eq. (5): audio GRU units = f_a * 39, f_a = 2
    text_gru_factor: float = 4.0      # ho2020 App. A Eq. (6): text GRU units = 768 / f_w, f_w = 4
    gru_l2: float = 1e-4              # ho2020 App. A: L2 1e-4 (on the GRU input kernels)
    recurrent_dropout: float = 0.3    # ho2020 App. A: recurrent dropout 0.3
    num_heads: int = 2                # ho2020 App. A: h = 2 fusion heads
    fusion_l2: float = 1e-3           # ho2020 App. A: L2 1e-3 for the multi-head module
    fusion_units: int | None = None   # paper is silent; None: the text GRU width (see MMFARNN)
    head_units: tuple[int, ...] = (80, 80)  # ho2020 App. A: two FC layers of 80 units
    dropout: float = 0.3              # ho2020 App. A: dropout 0.3 after each FC's BatchNorm

    def validate(self) -> None:
        for name in ("audio_gru_factor", "text_gru_factor"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"mmfa.{name}: must be > 0, got {getattr(self, name)}")
        for name in ("gru_l2", "fusion_l2"):
            if getattr(self, name) < 0:
                raise ConfigError(f"mmfa.{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("recurrent_dropout", "dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"mmfa.{name}: must be in [0, 1), got {getattr(self, name)}")
        if self.num_heads < 1:
            raise ConfigError(f"mmfa.num_heads: must be >= 1, got {self.num_heads}")
        if self.fusion_units is not None and (
                self.fusion_units < 1 or self.fusion_units % self.num_heads):
            raise ConfigError(f"mmfa.fusion_units: must be a positive multiple of num_heads "
                              f"({self.num_heads}), got {self.fusion_units}")
        if any(u < 1 for u in self.head_units):
            raise ConfigError(f"mmfa.head_units: every width must be >= 1, got {self.head_units}")


def gru_units(modality: str, dim: int, audio_gru_factor: float, text_gru_factor: float) -> int:
    """GRU width of a branch: ho2020 App. A Eqs. (5)-(6), computed from the actual input dim.

    Audio: ``round(f_a * D_a)`` (39 -> 78). Text: ``round(D_w / f_w)`` (BERT-base 768 -> 192;
    a 384-dim MiniLM gives 96). At least 1.
    """
    if modality == "audio":
        return max(1, round(audio_gru_factor * dim))
    if modality == "text":
        return max(1, round(dim / text_gru_factor))
    raise ValueError(f"unknown modality {modality!r}; MMFA knows {MODALITIES}")


@keras.saving.register_keras_serializable(package="ser_keras")
class MMFARNN(keras.Model):
    """MMFA-RNN of ho2020 (Fig. 1, Fig. 3, Sec. III-B/C, App. A) and its unimodal baselines.

    Per modality: BatchNormalization -> GRU (return sequences) -> multiplicative self-attention
    (level 1). Bimodal: multi-head fusion attention (level 2; queries/keys audio, values text
    resampled to the audio length). Then masked global average pooling over time, and per
    ``head_units`` entry Dense(fastGELU) -> BatchNorm -> Dropout, then Dense softmax.
    The unimodal baselines (``text_dim`` or ``audio_dim`` None) are one branch with its
    self-attention, pooling and head, no fusion (Tables 3, 4, 6 "Audio" / "Text").

    Masks: the GRU skips padded steps, attention never attends to padded keys and zeroes padded
    query steps, the text resampling interpolates each sample's valid tokens onto its valid
    frames, pooling averages valid steps only. So padding a batch further never changes a
    prediction (inference mode). The input BatchNormalization gets the mask too, so padded
    frames do not enter its training batch statistics (Keras' masked moments); in inference
    its output at padded steps is not zero but is never read (the GRU skips those steps).

    Where the paper is silent (each: "paper is silent on X; we use Y because Z"):
    - GRU widths for other input dims: paper is silent (it gives 78 and 192 for 39 and 768);
      we use Eqs. (5)-(6) on the actual dims, round(f_a * D_a) and round(D_w / f_w), because
      the factors, not the numbers, are the method (a 384-dim MiniLM text input gets 96).
    - Which GRU weights the L2 1e-4 applies to: paper is silent; we use the input kernels only,
      because App. A names one "L2" for the GRU and Keras' ``kernel_regularizer`` is that one.
      Otherwise Keras' default GRU (reset_after=True, the TensorFlow 2.0 default of App. B).
    - Fusion head width d, and whether W^O maps back to the audio width: paper is silent; we use
      ``fusion_units`` = the text GRU width by default (192 at the paper's dims), h heads of
      d = fusion_units / h, W^O back to fusion_units (not to the audio width), biases on every
      projection, because that is how the Keras multi-head layer of the time (keras-multi-head,
      by the author of the keras-self-attention whose equations Sec. III-B reproduces) sized a
      [query, key, value] call: every projection and W^O the value's width, and the value is
      the text. ``fusion_units`` sets another width.
    - Scale of Eq. (4): paper writes sqrt(d_A1st); we use sqrt(d) with d the per-head width,
      because Eq. (4) is Vaswani et al.'s scaled dot product, which it cites.
    - Activation order in the head: paper is silent; we use Dense(80, fastGELU) -> BatchNorm ->
      Dropout(0.3), because App. A describes "FC layer[s] of 80 units followed by a batch
      normalization layer and a dropout layer" whose activation is fastGELU, i.e. the
      activation belongs to the FC layer.
    - Interpolation R: paper is silent beyond "interpolation"; we use linear, align-corners, per
      sample on the valid lengths ([CLS] lands on the first valid frame, [SEP] on the last),
      applied after W3 as Eq. (4) writes it, because align-corners keeps the utterance's two
      ends aligned and needs no padding convention; see ``ser_keras.layers.sequence``.
    - Shape of b_a: paper is silent beyond "bias value"; we use one scalar, as
      keras-self-attention does; it cancels in the softmax (no effect on outputs).
    - Regularisation elsewhere: paper is silent; we use none on W_a and the FC layers, because
      App. A names L2 only for the GRU and the multi-head module.
    - Level-1 span: the prose says "previous states", Eq. (3) sums over all t'; we use all valid
      t' (no causal mask), because the equations are the definition.
    - Padded frames in BatchNorm: paper is silent; we pass the mask, so training statistics come
      from real frames only, because padding depends on the batch, not on the utterance.

    Args:
        num_outputs: width of the output: classes (softmax) or continuous targets (linear).
        audio_dim, text_dim: per-frame input dims; None leaves that modality out.
        output: "classes" (softmax) or "values" (linear regression head).
        The other arguments are the ``MMFAConfig`` fields.
    """

    def __init__(self, num_outputs, audio_dim, text_dim, audio_gru_factor, text_gru_factor,
                 gru_l2, recurrent_dropout, num_heads, fusion_l2, fusion_units, head_units,
                 dropout, output="classes", **kwargs):
        dims = {m: d for m, d in (("audio", audio_dim), ("text", text_dim)) if d is not None}
        if not dims:
            raise ValueError("MMFARNN needs audio_dim, text_dim or both")
        head_units = tuple(int(u) for u in head_units)

        # === Layers ===
        encoders = {}
        for modality, dim in dims.items():
            units = gru_units(modality, dim, audio_gru_factor, text_gru_factor)
            encoders[modality] = (
                # ho2020 Sec. III-C: each input is batch-normalised before its GRU.
                keras.layers.BatchNormalization(name=f"{modality}_norm"),
                # ho2020 App. A: units f_a*39 / 768/f_w, L2 1e-4, recurrent dropout 0.3.
                keras.layers.GRU(units, return_sequences=True,
                                 recurrent_dropout=recurrent_dropout,
                                 kernel_regularizer=keras.regularizers.L2(gru_l2),
                                 name=f"{modality}_gru"),
                # ho2020 Sec. III-B Eqs. (1)-(3): level-1 multiplicative self-attention.
                MultiplicativeSelfAttention(name=f"{modality}_self_attention"),
            )
        fusion = None
        if len(dims) == 2:
            # ho2020 Sec. III-B Eq. (4), App. A: h = 2 heads, L2 1e-3.
            fusion = FusionMultiHeadAttention(
                num_heads=num_heads, units=fusion_units,
                kernel_regularizer=keras.regularizers.L2(fusion_l2), name="fusion_attention")
        # ho2020 Sec. III-C: GAP over time (masked: padding is not averaged in).
        pooling = MaskedGlobalAveragePooling1D(name="pooling")
        head = []
        for i, units in enumerate(head_units):
            # ho2020 App. A: FC 80 (fastGELU, Eq. (7)) -> BatchNorm -> Dropout 0.3.
            head += [keras.layers.Dense(units, activation=fast_gelu, name=f"head_dense_{i}"),
                     keras.layers.BatchNormalization(name=f"head_norm_{i}"),
                     keras.layers.Dropout(dropout, name=f"head_dropout_{i}")]
        # ho2020 Sec. III-C: softmax over the classes (float32); linear when regressing.
        classifier = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        inputs, sequences, masks = {}, {}, {}
        for modality, dim in dims.items():
            x_input = keras.Input(shape=(None, dim), name=modality)
            mask_input = keras.Input(shape=(None,), name=f"{modality}_mask")
            inputs[modality], inputs[f"{modality}_mask"] = x_input, mask_input
            valid = ops.greater(mask_input, 0.5)  # (batch, T) bool
            norm, gru, attention = encoders[modality]
            x = norm(x_input, mask=valid)  # (batch, T, D)
            x = gru(x, mask=valid)  # (batch, T, units)
            x = attention(x, mask=valid)  # (batch, T, units)
            sequences[modality], masks[modality] = x, valid
        if fusion is not None:
            x = fusion(sequences["audio"], sequences["text"], audio_mask=masks["audio"],
                       text_mask=masks["text"])  # (batch, T_a, fusion units)
            mask = masks["audio"]
        else:
            (modality,) = dims
            x, mask = sequences[modality], masks[modality]
        x = pooling(x, mask=mask)  # (batch, units)
        for layer in head:
            x = layer(x)  # (batch, head units)
        outputs = classifier(x)  # (batch, num_outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_outputs = num_outputs
        self.output_kind = output
        self.audio_dim = audio_dim
        self.text_dim = text_dim
        self.audio_gru_factor = audio_gru_factor
        self.text_gru_factor = text_gru_factor
        self.gru_l2 = gru_l2
        self.recurrent_dropout = recurrent_dropout
        self.num_heads = num_heads
        self.fusion_l2 = fusion_l2
        self.fusion_units = fusion_units
        self.head_units = head_units
        self.dropout = dropout

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if getattr(self, f"{m}_dim") is not None)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "audio_dim": self.audio_dim,
            "text_dim": self.text_dim,
            "audio_gru_factor": self.audio_gru_factor,
            "text_gru_factor": self.text_gru_factor,
            "gru_l2": self.gru_l2,
            "recurrent_dropout": self.recurrent_dropout,
            "num_heads": self.num_heads,
            "fusion_l2": self.fusion_l2,
            "fusion_units": self.fusion_units,
            "head_units": list(self.head_units),
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_mmfa(input_spec: InputSpec, config: MMFAConfig, entry) -> MMFARNN:
    """Registry builder of ``mmfa`` (audio, text), ``mmfa-audio`` (audio), ``mmfa-text`` (text):
    the entry's declared inputs are the modalities."""
    modalities = entry.input_names
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown:
        raise ValueError(f"MMFA inputs must be a non-empty subset of {MODALITIES}, "
                         f"got {modalities}")
    dims = {m: input_spec.dim(m) for m in modalities}
    return MMFARNN(num_outputs=input_spec.num_outputs, output=input_spec.output,
                   audio_dim=dims.get("audio"), text_dim=dims.get("text"),
                   name=entry.name.replace("-", "_"), **config.to_dict())
