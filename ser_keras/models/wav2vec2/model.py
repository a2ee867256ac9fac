"""wav2vec 2.0 in Keras 3 and the classifier of alqurashi2024 (``w2v2``, ``w2v2-asr``).

Alqurashi, Li and Sidorov, "Improving speech emotion recognition through hierarchical
classification and text integration", IJCNN 2024 (``/work/shared/papers/
alqurashi2024_hierarchical.txt``), Sec. II-B 2-3: the speech models of the hierarchy are
wav2vec 2.0 base (Baevski et al. 2020), "pretrained on ... 960 hours of Librispeech"
(``w2v2``: facebook/wav2vec2-base) or also "fine-tuned on 960 hours of Librispeech" for ASR
(``w2v2-asr``: facebook/wav2vec2-base-960h), fine-tuned as classifiers with "the CNN-based
feature encoder" frozen: "we exclusively update the parameters of the transformer blocks".
"Base" is said in Sec. II-B 3 and inferred for II-B 2. What is frozen is what transformers'
``freeze_feature_encoder()`` freezes (the 7 conv layers and their norms, 4.2 M parameters of
base): the feature projection, the positional convolution and the head train with the blocks,
as in the fine-tuning recipe the paper follows (paper is silent on those parts).

    >>> from ser_keras import models
    >>> model = models.build_model("w2v2", {"inputs": {"audio": {"rank": "sequence", "dim": 1}},
    ...                                     "num_classes": 2}, {"checkpoint": "/path/to/dir"})

Input: ``audio`` (batch, samples, 1) float32, the 16 kHz waveform (the ``raw`` feature set),
and ``audio_mask`` (batch, samples), 1 on real samples. Output (``output_layer``): softmax
(batch, num_classes), or linear values for continuous targets.

The network (transformers' Wav2Vec2Model and Wav2Vec2ForSequenceClassification, layer for
layer; ``layers.py``):

    AudioNormalization           zero mean, unit variance per utterance (do_normalize)
    Wav2Vec2FeatureEncoder       7 convs (512; kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2),
                                 GELU, GroupNorm on conv 0 (base)      -> 50 frames / s, frozen
    LayerNorm -> Dense(768) -> dropout                                    feature projection
    padded frames set to 0; + PositionalConvEmbedding (128 taps, 16 groups, weight norm)
    LayerNorm -> dropout (post-LN) | dropout (pre-LN)
    12 x Wav2Vec2EncoderLayer (12 heads, FFN 3072), padded keys masked
    [final LayerNorm (pre-LN)]                                     -> last_hidden_state
    classifier: masked mean over the real frames of layer ``pooled_layer`` -> projector
    Dense(256) -> output head (Wav2Vec2ForSequenceClassification; the mean and the projector
    are both linear, so pooling first, the cheaper order, computes the same function)

``Wav2Vec2Backbone`` outputs a dict: ``hidden_states`` (num_hidden_layers + 1 tensors (batch,
frames, hidden), as transformers' ``output_hidden_states``: 0 is the first layer's input, k the
output of layer k), ``last_hidden_state`` (= hidden_states[-1] for post-LN models, with the
final LayerNorm for pre-LN ones) and ``frame_mask`` (batch, frames).

Paper is silent on the pooling, the head, the layer, the dropouts and the recipe (see
``Wav2Vec2ClassifierConfig`` and ``TRAINING``); SpecAugment (transformers' mask_time_prob) is
not applied: the paper does not mention it.

Padding never changes a prediction (``layers.py`` says how; the first GroupNorm takes its
statistics over the real frames, where transformers' runs over the padding too). An utterance
whose samples are all equal (digital silence) normalises to zeros; every LayerNorm then sees a
zero vector and scales its gradient by 1 / sqrt(eps) ~ 316, as in transformers, so the
gradients explode: ``ser-prepare`` marks such audio ``silent_audio`` and leaves it out.

Parameter counts (the base architecture, 4 classes): backbone 94,370,944 = transformers'
Wav2Vec2Model's 94,371,712 less the 768 of ``masked_spec_embed`` (SpecAugment's mask vector,
unused here), of which the frozen feature encoder holds 4,200,448; the head adds
768 x 256 + 256 (projector) + 256 x 4 + 4 = 197,892 (94,568,836 in all).
"""
from __future__ import annotations

import keras

from ser_keras.errors import ConfigError
from ser_keras.layers.sequence import MaskedGlobalAveragePooling1D
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec
from ser_keras.models.wav2vec2 import weights as weights_lib
from ser_keras.models.wav2vec2.config import (FAMILY, Wav2Vec2ClassifierConfig,
                                              Wav2Vec2Config)
from ser_keras.models.wav2vec2.layers import (AudioNormalization, FrameMasking,
                                              PositionalConvEmbedding, Wav2Vec2EncoderLayer,
                                              Wav2Vec2FeatureEncoder)

PAPER = "alqurashi2024"
PAPER_NUM_CLASSES = 4  # Sec. III-A: angry, happy, sad, neutral (Models 1 / 2: 2 and 3)
W2V2_CHECKPOINT = "hf://facebook/wav2vec2-base"          # Sec. II-B 2
W2V2_ASR_CHECKPOINT = "hf://facebook/wav2vec2-base-960h"  # Sec. II-B 3
W2V2_DEFAULTS = {"checkpoint": W2V2_CHECKPOINT}
W2V2_ASR_DEFAULTS = {"checkpoint": W2V2_ASR_CHECKPOINT}

# Sec. II-B 2: wav2vec 2.0 extracts "contextualized representations from raw audio signals":
# the 16 kHz waveform, normalised inside the model (the store holds the raw samples).
AUDIO_INPUT = InputDecl("audio", "sequence", default="raw", feeds=("raw",), paper_dim=1,
                        description="the 16 kHz waveform (samples, 1), normalised per "
                                    "utterance inside the model")

# The recipe of ad-hoc runs (``ser-train --model w2v2``), in the shape of TrainingConfig.
TRAINING = {
    # Sec. II-B 1, II-C: "the Adam method ... with cross entropy loss" (said of the LSTM and
    # text models; Sec. II-B 2-3 name no other optimizer or loss)
    "optimizer": {"name": "adam"},
    # paper is silent: 3e-5, the rate of transformers' audio-classification example for
    # wav2vec2-base (fine-tuning a pre-trained transformer wants a small rate)
    "learning_rate": 3e-5,
    "schedule": {"name": "none"},        # paper is silent
    "loss": {"name": "cross_entropy"},   # Sec. II-B 1, II-C: cross-entropy, no class weights
    # paper is silent for wav2vec 2.0 (64 is said of the LSTM and text models): 8, since 64
    # whole IEMOCAP utterances (up to ~35 s) through wav2vec2-base do not fit one GPU
    "batch_size": 8,
    "epochs": 10,                        # paper is silent: a bound, the selection picks the epoch
    "selection_metric": "balanced_accuracy",  # paper is silent: UA, its first metric (Table II)
    "patience": 3,                       # paper is silent
}


# --------------------------------------------------------------------------------------------
# The backbone
# --------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="ser_keras")
class Wav2Vec2Backbone(keras.Model):
    """wav2vec 2.0 (transformers' ``Wav2Vec2Model``) on raw audio with a sample mask.

    Args:
        config: ``config.json`` keys (``Wav2Vec2Config.from_hf``; missing keys take the base
            architecture's values). Random initialisation: weights come from
            ``weights.load_state_dict`` (``load_backbone`` does both).
        normalize: normalise each utterance inside the model (preprocessor do_normalize).
        audio_name: the inputs are ``audio_name`` (batch, samples, 1) and
            ``audio_name + "_mask"`` (batch, samples).
    """

    def __init__(self, config=None, normalize=True, audio_name="audio", **kwargs):
        arch = Wav2Vec2Config.from_hf(config, where="wav2vec2 config")
        stable = arch.do_stable_layer_norm

        # === Layers ===
        normalization = AudioNormalization(normalize, dtype="float32", name="normalization")
        feature_encoder = Wav2Vec2FeatureEncoder(
            arch.conv_dim, arch.conv_kernel, arch.conv_stride, arch.conv_bias,
            arch.feat_extract_norm, arch.feat_extract_activation, name="feature_encoder")
        projection_norm = keras.layers.LayerNormalization(epsilon=arch.layer_norm_eps,
                                                          name="feature_projection_norm")
        projection = keras.layers.Dense(arch.hidden_size, name="feature_projection")
        projection_dropout = keras.layers.Dropout(arch.feat_proj_dropout,
                                                  name="feature_projection_dropout")
        pos_conv_embed = PositionalConvEmbedding(arch.num_conv_pos_embeddings,
                                                 arch.num_conv_pos_embedding_groups,
                                                 arch.feat_extract_activation,
                                                 name="pos_conv_embed")
        encoder_norm = keras.layers.LayerNormalization(epsilon=arch.layer_norm_eps,
                                                       name="encoder_norm")
        encoder_dropout = keras.layers.Dropout(arch.hidden_dropout, name="encoder_dropout")
        encoder_layers = [Wav2Vec2EncoderLayer(
            arch.hidden_size, arch.num_attention_heads, arch.intermediate_size,
            arch.hidden_act, arch.hidden_dropout, arch.attention_dropout,
            arch.activation_dropout, arch.layer_norm_eps, stable, arch.layerdrop,
            name=f"encoder_layer_{i}") for i in range(arch.num_hidden_layers)]

        # === Functional model ===
        audio = keras.Input(shape=(None, 1), name=audio_name)              # (batch, S, 1)
        mask = keras.Input(shape=(None,), name=f"{audio_name}_mask")       # (batch, S)
        samples = normalization(audio, mask)                               # (batch, S)
        features, frame_mask = feature_encoder(samples, mask)              # (batch, T, 512)
        x = projection_dropout(projection(projection_norm(features)))      # (batch, T, H)
        x = FrameMasking(name="frame_masking")(x, frame_mask)
        x = keras.layers.Add(name="add_positions")([x, pos_conv_embed(x)])
        if not stable:
            x = encoder_norm(x)
        x = encoder_dropout(x)
        hidden_states = [x]
        for layer in encoder_layers:
            x = layer(x, frame_mask)                                       # (batch, T, H)
            hidden_states.append(x)
        last = encoder_norm(x) if stable else x
        outputs = {"hidden_states": hidden_states, "last_hidden_state": last,
                   "frame_mask": frame_mask}
        super().__init__(inputs={audio_name: audio, f"{audio_name}_mask": mask},
                         outputs=outputs, **kwargs)

        # === Config ===
        self.architecture = arch
        self.normalize = normalize
        self.audio_name = audio_name
        # the layers weights.py maps checkpoint tensors to
        self.feature_encoder = feature_encoder
        self.feature_projection_norm = projection_norm
        self.feature_projection = projection
        self.pos_conv_embed = pos_conv_embed
        self.encoder_norm = encoder_norm
        self.encoder_layers = encoder_layers

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "config": self.architecture.to_hf(), "normalize": self.normalize,
                "audio_name": self.audio_name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def select_layer(encoded, layer: int):
    """Hidden states ``layer`` of a backbone output: -1 is ``last_hidden_state``, any other
    index one of ``hidden_states`` (negative from the end)."""
    return encoded["last_hidden_state"] if layer == -1 else encoded["hidden_states"][layer]


def check_layer(layer: int, arch: Wav2Vec2Config, where: str) -> None:
    count = arch.num_hidden_layers + 1
    if isinstance(layer, bool) or not isinstance(layer, int) or not -count <= layer < count:
        raise ConfigError(f"{where}: {layer!r} is not a hidden-states index of a "
                          f"{arch.num_hidden_layers}-layer model (-{count} .. {count - 1})")


def load_backbone(checkpoint: str | None, overrides=None, normalize: bool | None = None,
                  audio_name: str = "audio", **kwargs) -> Wav2Vec2Backbone:
    """A backbone with ``checkpoint``'s weights (hf:// handle or local directory), or a
    random one of the base architecture with ``overrides`` when ``checkpoint`` is None."""
    ckpt = weights_lib.open_checkpoint(checkpoint) if checkpoint is not None else None
    arch = (ckpt.architecture(overrides) if ckpt is not None
            else Wav2Vec2Config.from_hf(overrides, where="wav2vec2 config"))
    if normalize is None:
        normalize = ckpt.normalize if ckpt is not None else True
    backbone = Wav2Vec2Backbone(arch.to_hf(), normalize=normalize, audio_name=audio_name,
                                **kwargs)
    if ckpt is not None:
        weights_lib.load_state_dict(backbone, ckpt.state_dict(), where=checkpoint)
    return backbone


# --------------------------------------------------------------------------------------------
# The classifier
# --------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="ser_keras")
class Wav2Vec2Classifier(keras.Model):
    """The backbone, a masked mean over the real frames of one layer, transformers'
    Wav2Vec2ForSequenceClassification projector, the output head.

    Args:
        backbone_config: the backbone's ``config.json`` keys (its ``classifier_proj_size`` is
            the projector's width).
        num_outputs / output: classes (softmax) or continuous targets (linear).
        The other arguments are ``Wav2Vec2ClassifierConfig`` fields.
    """

    def __init__(self, backbone_config, num_outputs, output="classes", normalize=True,
                 freeze_feature_encoder=True, pooled_layer=-1, classifier_dropout=0.0,
                 audio_name="audio", **kwargs):
        # === Layers ===
        backbone = Wav2Vec2Backbone(backbone_config, normalize=normalize,
                                    audio_name=audio_name, name="wav2vec2")
        arch = backbone.architecture
        check_layer(pooled_layer, arch, f"{FAMILY}.pooled_layer")
        # Sec. II-B 2-3: the CNN feature encoder is frozen, the transformer blocks train
        backbone.feature_encoder.trainable = not freeze_feature_encoder
        pooling = MaskedGlobalAveragePooling1D(dtype="float32", name="mean_pooling")
        projector = keras.layers.Dense(arch.classifier_proj_size, name="projector")
        dropout = keras.layers.Dropout(classifier_dropout, name="classifier_dropout")
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        inputs = {audio_name: keras.Input(shape=(None, 1), name=audio_name),
                  f"{audio_name}_mask": keras.Input(shape=(None,), name=f"{audio_name}_mask")}
        encoded = backbone(inputs)
        hidden = select_layer(encoded, pooled_layer)                    # (batch, T, H)
        x = pooling(hidden, mask=encoded["frame_mask"])                 # (batch, H)
        x = dropout(projector(x))                                       # (batch, 256)
        outputs = head(x)                                               # (batch, outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.backbone_config = arch.to_hf()
        self.num_outputs = num_outputs
        self.output_kind = output
        self.normalize = normalize
        self.freeze_feature_encoder = freeze_feature_encoder
        self.pooled_layer = pooled_layer
        self.classifier_dropout = classifier_dropout
        self.audio_name = audio_name

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "backbone_config": self.backbone_config, "num_outputs": self.num_outputs,
                "output": self.output_kind, "normalize": self.normalize,
                "freeze_feature_encoder": self.freeze_feature_encoder,
                "pooled_layer": self.pooled_layer,
                "classifier_dropout": self.classifier_dropout, "audio_name": self.audio_name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_wav2vec2_classifier(input_spec: InputSpec, config: Wav2Vec2ClassifierConfig,
                              entry) -> Wav2Vec2Classifier:
    """Registry builder of ``w2v2`` / ``w2v2-asr``: the checkpoint's backbone (or a random
    one of ``config.config`` when ``checkpoint`` is None) under the classifier head."""
    audio = [d for d in entry.inputs if d.rank == "sequence"]
    if len(audio) != 1 or len(entry.inputs) != 1:
        raise ConfigError(f"model {entry.name!r}: {FAMILY} takes one sequence input (raw "
                          f"audio), got {[str(d) for d in entry.inputs]}")
    (decl,) = audio
    if input_spec.dim(decl.name) != 1:
        raise ConfigError(f"model {entry.name!r}: input {decl.name!r} must be the raw "
                          f"waveform (dim 1, feature set raw), got dim "
                          f"{input_spec.dim(decl.name)}")
    where = f"models.{entry.name}"
    ckpt = (weights_lib.open_checkpoint(config.checkpoint) if config.checkpoint is not None
            else None)
    overrides = config.architecture_overrides()
    arch = (ckpt.architecture(overrides) if ckpt is not None
            else Wav2Vec2Config.from_hf(overrides, where=f"{where}.config"))
    check_layer(config.pooled_layer, arch, f"{where}.pooled_layer")
    normalize = config.normalize
    if normalize is None:
        normalize = ckpt.normalize if ckpt is not None else True
    model = Wav2Vec2Classifier(
        arch.to_hf(), num_outputs=input_spec.num_outputs, output=input_spec.output,
        normalize=normalize, freeze_feature_encoder=config.freeze_feature_encoder,
        pooled_layer=config.pooled_layer, classifier_dropout=config.classifier_dropout,
        audio_name=decl.name, name=entry.name.replace("-", "_"))
    if ckpt is not None:
        weights_lib.load_state_dict(model.backbone, ckpt.state_dict(), where=config.checkpoint)
    return model


__all__ = ["AUDIO_INPUT", "PAPER", "PAPER_NUM_CLASSES", "TRAINING", "W2V2_ASR_CHECKPOINT",
           "W2V2_ASR_DEFAULTS", "W2V2_CHECKPOINT", "W2V2_DEFAULTS", "Wav2Vec2Backbone",
           "Wav2Vec2Classifier", "build_wav2vec2_classifier", "check_layer", "load_backbone",
           "select_layer"]
