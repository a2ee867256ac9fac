"""DBMER, the deep learning-based multi-learning model for emotion recognition of kakuba2023
(Sec. III-C, Fig. 3) and its multi-stream variant (Sec. III-D, Tables 7, 8): one builder.

    dbmer              audio (MFCC frames) + text (BERT token embeddings)   Table 5
    dbmer-multistream  audio (MFCC frames) + mel (Mel-spectrogram frames)  Tables 7, 8

    >>> from ser_keras import models
    >>> model = models.build_model("dbmer", models.paper_spec("dbmer"))  # 39 / 768, 4 classes

Inputs: two ``sequence`` inputs with masks (right-padded). Output: softmax (batch,
num_classes), or linear values when the input spec asks for continuous targets.

Parameter counts at the paper's dims (Sec. V-D; ``benchmarks/kakuba_param_search.py``):

    paper   Sec. V-D: with the BERT embeddings "116,600,969 total number of parameters with
            only 7,116,424 trainable parameters"; "The models that did not include the BERT
            embeddings had only 5,585,159 total number of parameters and 5,582,855 training
            parameters"
    derived (our readings, not the paper's words): the BERT model's total includes a frozen
            TF-Hub BERT-base KerasLayer (109,482,241 parameters, our identification), so
            7,118,728 outside BERT of which 2,304 non-trainable (116,600,969 - 109,482,241 -
            7,116,424); "the models that did not include the BERT embeddings" read as the
            multi-stream DBMER (Sec. III-D), 5,585,159 total, 2,304 non-trainable (the
            difference of the two quoted counts)
    ours    dbmer (39 / 768, 4 classes): 7,127,312 total, 7,125,008 trainable, 2,304 non-t.
            (+0.12 % trainable); dbmer-multistream (39 / 128, 7 classes): 5,572,371 total,
            5,570,067 trainable, 2,304 non-trainable (-0.23 % trainable)
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from ser_keras.layers import (
    DotSelfAttention,
    MaskedGlobalAveragePooling1D,
    SinusoidalPositionalEncoding,
    TransformerEncoder,
)
from ser_keras.models.heads import output_layer
from ser_keras.models.kakuba.common import (
    AUDIO_INPUT,
    MEL_INPUT,
    MULTISTREAM_NUM_CLASSES,
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

# Sec. V-D's counts for ser-models to compare with (derived where marked: see the docstring).
# dbmer: 116,600,969 total / 7,116,424 trainable with a frozen BERT-base inside; our dbmer
# reads precomputed BERT embeddings, so the comparable part is the one outside BERT:
# 116,600,969 - 109,482,241 (TF-Hub BERT-base, derived) = 7,118,728.
DBMER_PAPER_PARAMS = {"total": 7_118_728, "trainable": 7_116_424,
                      "source": "Sec. V-D, outside a TF-Hub BERT-base of 109,482,241 "
                                "(116,600,969 with it)"}
# the multi-stream model is read as "the models that did not include the BERT embeddings"
MULTISTREAM_PAPER_PARAMS = {"total": 5_585_159, "trainable": 5_582_855,
                            "source": "Sec. V-D, the models without BERT embeddings"}
FAMILY = "dbmer"
LSTM_INPUTS = ("features", "encoder")
TRAINING = TRAINING_TRANSFORMER  # Table 2 recipe; Adam lr 4e-4 (the range's bottom)
# dbmer-multistream's entry defaults: its second stream (Mel frames) is not the lexical
# modality that Sec. III-B's positional encoding is for
MULTISTREAM_DEFAULTS = {"second_positional_encoding": False}


@dataclasses.dataclass
class DBMERConfig(ModelConfig):
    """Hyperparameters of DBMER; each default cites its section or says "silent" (the silent
    ones are argued in ``DBMER``'s docstring; Sec. V-D's parameter counts decide several)."""

    conv_filters: int = 128       # Sec. III-C: convolution layers of 128 filters
    conv_kernel: int = 3          # Sec. III-C: kernel size 3
    conv_layers: int = 2          # Sec. III-C: two convolution layers per modality
    conv_batch_norm: bool = True  # silent: Conv -> BatchNorm -> ReLU (Sec. V-D's 2,304)
    num_heads: int = 4            # Sec. III-B (the encoder "configuration" III-C reuses): 4
    # Table 2 gives "Embedding dimension 256"; reading it as the per-head key_dim is ours (it
    # could be d_model; the encoders' width is then set by the convolutions, 128 / 512)
    key_dim: int = 256
    ff_dim: int = 4               # silent: the keras.io timeseries example call's ff_dim=4
    num_blocks: int = 1           # silent: one encoder block per transformer encoder
    norm_first: bool = True       # silent: pre-norm, as the keras.io timeseries block
    # Sec. III-B gives 0.5 for the transformer encoders and the 128-unit BiLSTMs; for the
    # 256-unit BiLSTMs it says only "with dropout regularization and layer normalization":
    # 0.5 carried over there (our choice)
    dropout: float = 0.5
    lstm_units: int = 256         # Sec. III-B: "All the BiLSTM layers had 256 units"
    lstm_layer_norm: bool = True  # Sec. III-B: BiLSTMs with layer normalisation
    # silent: what the per-modality BiLSTM + self-attention reads: the modality's "features"
    # (beside the CNN + encoder path) or the "encoder" output; Sec. V-D's counts say features
    lstm_input: str = "features"
    # Sec. III-C: each stream's features are "fed into the transformer encoders with a
    # configuration described in the previous subsection", which has "the positional encoding
    # stated in [38] for the lexical modality" (Sec. III-B): parameter-free sinusoidal
    # positions added to the second stream (text) just before its encoder. dbmer-multistream
    # sets False: its second stream is Mel frames, not the lexical modality
    second_positional_encoding: bool = True
    attention_scaled: bool = True  # silent: 1/sqrt(d) in the dot-product self-attention
    # Sec. III-C: "dense layers of 128 units are used to ensure the same dimensions for
    # concatenation where necessary"; None (a deviation from that sentence, argued in DBMER's
    # docstring): none, the spliced widths already match; an int: after each BiLSTM +
    # self-attention
    projection_units: int | None = None
    fusion_batch_norm: bool = True  # silent: BatchNorm on the fusion-2 splice (the 2,304)
    # silent: momentum of the BatchNorm moving statistics. Keras' 0.99 needs ~460 updates to
    # forget its initial 0 / 1 statistics; a small corpus (EmoDB, RAVDESS, the demo: 8-40
    # steps an epoch) selects an early epoch whose inference statistics are still stale, and
    # DBMER then predicts one class at validation (seen on the demo corpus: validation
    # balanced accuracy 0.25-0.30 at every epoch with 0.99). 0.9 converges in ~50 updates.
    batch_norm_momentum: float = 0.9
    head_units: tuple[int, ...] = ()  # silent: the pooled encoder output feeds the softmax
    l2: float = 1e-5              # Sec. III-C / Table 2: kernel L2 1e-5 (Glorot uniform init)

    def validate(self) -> None:
        check_positive(FAMILY, self, "conv_filters", "conv_kernel", "conv_layers",
                       "num_heads", "key_dim", "ff_dim", "num_blocks", "lstm_units")
        if self.projection_units is not None:
            check_positive(FAMILY, self, "projection_units")
        check_rate(FAMILY, self, "dropout", "batch_norm_momentum")
        check_choice(FAMILY, self, "lstm_input", LSTM_INPUTS)
        check_widths(FAMILY, self, "head_units")
        check_non_negative(FAMILY, self, "l2")


@keras.saving.register_keras_serializable(package="ser_keras")
class DBMER(keras.Model):
    """kakuba2023 DBMER (Sec. III-C, Fig. 3) for two input streams (audio + text, or audio +
    mel).

    Per stream (x, its frames or tokens):
        local:    [Conv1D(128, 3) -> BatchNorm -> ReLU] x 2 [-> + sinusoidal positions, the
                  second stream when ``second_positional_encoding``] -> transformer encoder
                                                                                        -> e
        temporal: BiLSTM(256) (on x) -> LayerNorm -> Dropout -> self-attention          -> s
    Fusion 1: concat_time(e_audio, e_other) -> Conv1D(128, 3) -> BatchNorm -> ReLU ->
              BiLSTM(256) -> LayerNorm -> Dropout -> self-attention                    -> b
    Fusion 2: concat_time(b, s_audio, s_other) -> BatchNorm -> transformer encoder ->
              masked mean over time -> softmax.

    Transformer encoder = ``ser_keras.layers.TransformerEncoder``: pre-norm, 4 heads of
    key_dim 256, feed-forward 4, dropout 0.5, one block: the keras.io "Timeseries
    classification with a Transformer model" block (pre-norm) with the head size, heads and
    feed-forward width of that example's call (head_size=256, num_heads=4, ff_dim=4; these are
    call arguments, not function defaults). That call also stacks num_transformer_blocks=4 and
    adds mlp_units=[128]; we use one block and no MLP (see below).
    Positional encoding = ``ser_keras.layers.SinusoidalPositionalEncoding`` (Vaswani et al.,
    no weights; right padding keeps every valid step's position, padded steps stay zero).
    Self-attention = ``ser_keras.layers.DotSelfAttention`` (parameter-free, scaled).
    concat_time = ``PackedTimeConcat``: each sample's valid steps of the first sequence, then
    those of the next, ..., then padding. Kernels: L2 1e-5, Glorot uniform (Table 2).

    Masks: convolutions see zeros past each sample's end (as an unpadded sample would) and
    their outputs are re-zeroed there, BatchNorm's training statistics skip padding, BiLSTMs
    skip padded steps, attention never attends to padded keys, the time concatenation packs
    valid steps (so the fusion-1 convolution sees the same junction whatever the padding), the
    mean is over valid steps: padding a batch further never changes a prediction.

    Where the paper is silent (each: "paper is silent on X; we use Y because Z"):
    - Where the lexical positional encoding sits: Sec. III-C feeds the convolved features to
      "the transformer encoders with a configuration described in the previous subsection",
      which includes "the positional encoding stated in [38] for the lexical modality"; the
      paper is silent on its place; we add it to the text stream's convolution output, the
      encoder's input (where Vaswani et al. add it), so the BiLSTM on the features does not
      see it; none on audio (TED has none there either), none on the Mel stream of
      dbmer-multistream (not lexical; ``second_positional_encoding=False``).
    - Splicing two sequences of different lengths (MFCC frames vs BERT tokens): paper is
      silent; we concatenate on the time axis, packing each sample's valid steps, because
      Sec. III-C makes widths (not lengths) equal for concatenation ("dense layers of 128
      units ... to ensure the same dimensions") and Keras' ``concatenate(axis=1)`` of
      fixed-size padded inputs is the same splice with the padding inside.
    - Input of the per-modality BiLSTM + self-attention ("subjected to individual
      modalities"): paper is silent; we feed the modality's features, beside the CNN + encoder
      path (the concurrent paths of the authors' CoSTGA [39]), because Sec. V-D's counts
      require it: the two models differ by 1,533,569 trainable parameters, ~2,400 per extra
      input dim (768 vs 128), which a BiLSTM(256) on the features (2,048 per dim) plus the
      first convolution (384 per dim) give (2,432); reading the encoder output leaves only the
      first convolution's 245,760 between them, and no such reading comes within 10 % of both
      counts. ``lstm_input="encoder"`` builds it.
    - Transformer-encoder widths: paper is silent beyond 4 heads and Table 2's "Embedding
      dimension 256" (reading it as the per-head key_dim is ours; it could be d_model); we
      take the keras.io timeseries block (pre-norm), the block a Keras 2.6 author of 2022
      copies, with its example call's head_size=256, num_heads=4, ff_dim=4, and it lands
      within 0.23 % of both counts. We do not take that call's num_transformer_blocks=4 and
      mlp_units=[128]: three more blocks in each of the three encoders add 9,497,124
      parameters (+133 % / +170 % of the two counts) and the MLP overshoots by ~1 % (see
      Head); so one block per encoder, no MLP. The counts cannot tell this from e.g. key_dim
      128 with feed-forward 1024 (``benchmarks/kakuba_param_search.py`` lists the ties); a
      feed-forward of 128 or more with key_dim 256 overshoots by 3 % or more.
    - BatchNormalization: paper is silent; we use Conv -> BatchNorm -> ReLU on the five
      convolutions (640 channels) and a BatchNorm on the 512-wide fusion-2 splice (512),
      because Sec. V-D's 2,304 non-trainable parameters in both models (outside BERT) are
      1,152 BatchNorm channels (moving mean + variance). The count fixes the channels, not
      the places.
    - Self-attention form: paper is silent; we use parameter-free scaled dot-product
      attention, because additive scoring needs O(T^2 * d) memory on 100-fps sequences and
      keras-self-attention's additive layers (64 d + 65 weights each) would add 3 x (64 x 512
      + 65) = 98,499 (+1.8 %) where our reading is within 0.23 %. (Sec. V-D's multi-stream
      trainable count is 7 mod 128, what a 7-class head on a 512-wide input (513 x 7) gives
      when everything else is a multiple of 128; that hint is weak: our own count is 19 mod
      128, the three encoders' ff_dim = 4 hidden biases adding 12, so the residue does not
      pin the rest.)
    - Dense(128) layers: a deviation from an explicit sentence, not a silence. Sec. III-C:
      "throughout this model, dense layers of 128 units are used to ensure the same
      dimensions for concatenation where necessary"; we use none (``projection_units=None``),
      arguing from "where necessary": with the widths above no splice needs one (fusion 1
      joins two 128-wide sequences, fusion 2 three 512-wide ones), and from Sec. V-D's
      counts: ``projection_units=128`` (one after each BiLSTM + self-attention, the fusion-2
      encoder then 128 wide) puts the counts 19 % / 25 % below the paper's. The option stays.
    - Head: paper is silent; we use a masked mean over time, then the softmax, because the
      paper puts nothing between the last encoder and "the softmax layer" (a Dense(128)
      there overshoots both counts by ~1 %).
    - Order in a BiLSTM block: paper is silent; we use BiLSTM -> LayerNorm -> Dropout ->
      self-attention, because the LayerNorm "ensure[s] a similar scale of the activations
      from the LSTM layers" (Sec. III-B) before attention compares them.
    - Regularisation: paper is silent on which kernels; we use Table 2's L2 1e-5 on every
      conv, dense and attention kernel and none on the LSTMs, because Sec. III-B names
      dropout and layer normalisation for them.
    - Fusion-2 sequence length: 2 x (T_1 + T_2) steps (bimodal + both streams) enter one
      encoder; the attention memory is O(that^2) per head and sample, a cost of the reading,
      not a choice (long IEMOCAP utterances at 100 fps give several thousand steps).

    Args:
        input_dims: ``{input name: dim}`` of the two streams in the entry's order; the first
            is the audio stream of both fusions' first slot.
        num_outputs, output: the output head (classes or values).
        The other arguments are the ``DBMERConfig`` fields.
    """

    def __init__(self, input_dims, num_outputs, conv_filters, conv_kernel, conv_layers,
                 conv_batch_norm, num_heads, key_dim, ff_dim, num_blocks, norm_first, dropout,
                 lstm_units, lstm_layer_norm, lstm_input, attention_scaled, projection_units,
                 fusion_batch_norm, head_units, l2, second_positional_encoding=True,
                 batch_norm_momentum=0.9, output="classes", **kwargs):
        input_dims = {str(k): int(v) for k, v in dict(input_dims).items()}
        if len(input_dims) != 2:
            raise ValueError(f"DBMER takes two input streams, got {list(input_dims)}")
        head_units = tuple(int(u) for u in head_units)
        regularizer = l2_regularizer(l2)

        def convolution(prefix):
            # Sec. III-C: 128 filters, kernel 3, L2 1e-5, Glorot uniform; ReLU (Sec. III-B)
            return (keras.layers.Conv1D(conv_filters, conv_kernel, padding="same",
                                        activation=None if conv_batch_norm else "relu",
                                        kernel_initializer="glorot_uniform",
                                        kernel_regularizer=regularizer, name=f"{prefix}_conv"),
                    keras.layers.BatchNormalization(momentum=batch_norm_momentum,
                                                    name=f"{prefix}_conv_norm")
                    if conv_batch_norm else None)

        def encoder(prefix):
            # Sec. III-B: 4 heads, layer normalisation, dropout 0.5; Table 2: 256
            return [TransformerEncoder(num_heads=num_heads, key_dim=key_dim, ff_dim=ff_dim,
                                       dropout=dropout, norm_first=norm_first,
                                       kernel_regularizer=l2_regularizer(l2),
                                       name=f"{prefix}_encoder_{i}") for i in range(num_blocks)]

        def recurrent(prefix):
            # Sec. III-B: BiLSTM(256), tanh, dropout and layer normalisation; Sec. III-C:
            # "self-attention is configured with it"
            return (bilstm(lstm_units, return_sequences=True, name=f"{prefix}_bilstm"),
                    keras.layers.LayerNormalization(name=f"{prefix}_bilstm_norm")
                    if lstm_layer_norm else None,
                    keras.layers.Dropout(dropout, name=f"{prefix}_bilstm_dropout"),
                    DotSelfAttention(scaled=attention_scaled, name=f"{prefix}_self_attention"),
                    keras.layers.Dense(projection_units, activation="relu",
                                       kernel_regularizer=l2_regularizer(l2),
                                       name=f"{prefix}_projection")
                    if projection_units is not None else None)

        # === Layers ===
        streams = list(input_dims)
        local = {m: ([convolution(f"{m}_{i}") for i in range(conv_layers)], encoder(m))
                 for m in streams}
        # Sec. III-B / III-C: the positional encoding of [38] for the lexical modality (the
        # second stream of ``dbmer``); no weights
        positions = {streams[1]: SinusoidalPositionalEncoding(name=f"{streams[1]}_position")
                     } if second_positional_encoding else {}
        temporal = {m: recurrent(m) for m in streams}
        fusion_1 = PackedTimeConcat(name="fusion_1")
        bimodal_conv = convolution("bimodal")
        bimodal_recurrent = recurrent("bimodal")
        fusion_2 = PackedTimeConcat(name="fusion_2")
        fusion_norm = (keras.layers.BatchNormalization(momentum=batch_norm_momentum,
                                                       name="fusion_2_norm")
                       if fusion_batch_norm else None)
        fusion_encoder = encoder("fusion")
        pooling = MaskedGlobalAveragePooling1D(name="pooling")
        head_layers = [keras.layers.Dense(units, activation="relu",
                                          kernel_regularizer=l2_regularizer(l2),
                                          name=f"head_dense_{i}")
                       for i, units in enumerate(head_units)]
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        def run_conv(x, valid, layers):
            conv, norm = layers
            x = conv(x)  # (batch, T, filters)
            if norm is not None:
                x = keras.layers.Activation("relu")(norm(x, mask=valid))
            return zero_padded(x, valid)  # padding back to zero for the next "same" conv

        def run_recurrent(x, valid, layers):
            lstm, norm, drop, attention, projection = layers
            x = lstm(x, mask=valid)  # (batch, T, 2 * units)
            if norm is not None:
                x = norm(x)
            x = attention(drop(x), mask=valid)  # (batch, T, 2 * units), zero on padding
            if projection is not None:
                x = zero_padded(projection(x), valid)  # (batch, T, projection_units)
            return x

        # === Functional model ===
        inputs, encoded, summaries, masks = {}, [], [], []
        for name in streams:
            x_input = keras.Input(shape=(None, input_dims[name]), name=name)
            mask_input = keras.Input(shape=(None,), name=f"{name}_mask")
            inputs[name], inputs[f"{name}_mask"] = x_input, mask_input
            valid = ops.greater(mask_input, 0.5)  # (batch, T) bool
            features = zero_padded(x_input, valid)  # (batch, T, dim)
            convs, encoders = local[name]
            x = features
            for layers in convs:
                x = run_conv(x, valid, layers)  # (batch, T, 128)
            if name in positions:
                x = positions[name](x, mask=valid)  # (batch, T, 128), zero on padding
            for block in encoders:
                x = block(x, mask=valid)  # (batch, T, 128)
            encoded.append(x)
            source = features if lstm_input == "features" else x
            summaries.append(run_recurrent(source, valid, temporal[name]))  # (batch, T, 512)
            masks.append(valid)
        x, fused_mask = fusion_1(encoded, masks)  # (batch, T_1 + T_2, 128)
        valid = ops.greater(fused_mask, 0.5)
        x = run_conv(x, valid, bimodal_conv)  # (batch, T_1 + T_2, 128)
        bimodal = run_recurrent(x, valid, bimodal_recurrent)  # (batch, T_1 + T_2, 512)
        x, fused_mask = fusion_2([bimodal, *summaries], [valid, *masks])  # (batch, 2 T, 512)
        valid = ops.greater(fused_mask, 0.5)
        if fusion_norm is not None:
            x = zero_padded(fusion_norm(x, mask=valid), valid)
        for block in fusion_encoder:
            x = block(x, mask=valid)  # (batch, 2 (T_1 + T_2), 512)
        x = pooling(x, mask=valid)  # (batch, 512)
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
        self.conv_layers = conv_layers
        self.conv_batch_norm = conv_batch_norm
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.ff_dim = ff_dim
        self.num_blocks = num_blocks
        self.norm_first = norm_first
        self.dropout = dropout
        self.lstm_units = lstm_units
        self.lstm_layer_norm = lstm_layer_norm
        self.lstm_input = lstm_input
        self.attention_scaled = attention_scaled
        self.projection_units = projection_units
        self.fusion_batch_norm = fusion_batch_norm
        self.batch_norm_momentum = batch_norm_momentum
        self.head_units = head_units
        self.l2 = l2
        self.second_positional_encoding = bool(second_positional_encoding)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self.input_dims)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dims": dict(self.input_dims),
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "conv_filters": self.conv_filters,
            "conv_kernel": self.conv_kernel,
            "conv_layers": self.conv_layers,
            "conv_batch_norm": self.conv_batch_norm,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "num_blocks": self.num_blocks,
            "norm_first": self.norm_first,
            "dropout": self.dropout,
            "lstm_units": self.lstm_units,
            "lstm_layer_norm": self.lstm_layer_norm,
            "lstm_input": self.lstm_input,
            "attention_scaled": self.attention_scaled,
            "projection_units": self.projection_units,
            "fusion_batch_norm": self.fusion_batch_norm,
            "batch_norm_momentum": self.batch_norm_momentum,
            "head_units": list(self.head_units),
            "l2": self.l2,
            "second_positional_encoding": self.second_positional_encoding,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_dbmer(input_spec: InputSpec, config: DBMERConfig, entry) -> DBMER:
    """Registry builder of ``dbmer`` (audio, text) and ``dbmer-multistream`` (audio, mel): the
    entry's two declared inputs are the streams."""
    dims = {name: input_spec.dim(name) for name in entry.input_names}
    return DBMER(input_dims=dims, num_outputs=input_spec.num_outputs, output=input_spec.output,
                 name=entry.name.replace("-", "_"), **config.to_dict())


__all__ = ["AUDIO_INPUT", "DBMER", "DBMERConfig", "LSTM_INPUTS", "MEL_INPUT",
           "MULTISTREAM_DEFAULTS", "MULTISTREAM_NUM_CLASSES", "PAPER_NUM_CLASSES", "TEXT_INPUT",
           "TRAINING", "build_dbmer"]
