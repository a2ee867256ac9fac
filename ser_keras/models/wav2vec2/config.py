"""The wav2vec 2.0 architecture as a Hugging Face ``config.json`` describes it, and the
classifier's model config (alqurashi2024 Sec. II-B 2-3).

    arch = Wav2Vec2Config.from_hf(json.load(open("config.json")))   # the keys we use, checked
    arch.to_hf()                                                     # back to config.json keys

``Wav2Vec2Config`` keeps the keys of transformers' ``Wav2Vec2Config`` that change the network
this package builds (the rest of a ``config.json``, e.g. the quantizer's or SpecAugment's, is
read and ignored); its defaults are transformers' defaults, i.e. the wav2vec2-base architecture
(7 conv layers of 512, 12 layers, 768 hidden, 3072 FFN, 12 heads, a 128-wide positional conv in
16 groups, post-LN). ``Wav2Vec2ClassifierConfig`` is the registry config of ``w2v2`` and
``w2v2-asr``. This module imports no Keras.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ser_keras.errors import ConfigError
from ser_keras.models.registry import ModelConfig

FAMILY = "wav2vec2"
SAMPLE_RATE = 16000          # the feature encoder's rate (the ``raw`` feature set's)
FEAT_EXTRACT_NORMS = ("group", "layer")
# transformers' ACT2FN names this package implements (exact GELU is transformers' "gelu")
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish")
NORMALIZE_EPSILON = 1e-7     # transformers' Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm
GROUP_NORM_EPSILON = 1e-5    # torch.nn.GroupNorm / nn.LayerNorm default of the conv layers
# config.json keys that describe parts of a checkpoint we do not build; a value other than the
# default would change the network, so it is refused rather than ignored.
_UNSUPPORTED = {"add_adapter": False, "adapter_attn_dim": None, "use_weighted_layer_sum": False}


@dataclasses.dataclass(frozen=True)
class Wav2Vec2Config:
    """The architecture keys of a wav2vec 2.0 ``config.json`` (transformers' names/defaults)."""

    conv_dim: tuple[int, ...] = (512, 512, 512, 512, 512, 512, 512)
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    feat_extract_norm: str = "group"          # "group": GroupNorm on conv 0; "layer": LN on all
    feat_extract_activation: str = "gelu"
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    activation_dropout: float = 0.1
    attention_dropout: float = 0.1
    feat_proj_dropout: float = 0.0
    layerdrop: float = 0.1
    layer_norm_eps: float = 1e-5
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    do_stable_layer_norm: bool = False         # True: pre-LN layers + a final LayerNorm (large)
    classifier_proj_size: int = 256            # Wav2Vec2ForSequenceClassification's projector

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_hf(cls, values: Mapping[str, Any] | None, where: str = "config.json"
                ) -> "Wav2Vec2Config":
        """The architecture of a ``config.json`` dict (other keys ignored), validated."""
        values = dict(values or {})
        model_type = values.get("model_type", FAMILY)
        if model_type != FAMILY:
            raise ConfigError(f"{where}: model_type {model_type!r} is not {FAMILY!r} (this "
                              "package builds wav2vec 2.0 only)")
        for key, default in _UNSUPPORTED.items():
            if values.get(key, default) != default:
                raise ConfigError(f"{where}: {key}={values[key]!r} is not supported (only "
                                  f"{key}={default!r})")
        kwargs = {}
        for field in dataclasses.fields(cls):
            if field.name not in values:
                continue
            value = values[field.name]
            if field.name.startswith("conv_") and field.name != "conv_bias":
                if not isinstance(value, (list, tuple)):
                    raise ConfigError(f"{where}.{field.name}: expected a list of integers, "
                                      f"got {value!r}")
                value = tuple(value)
            kwargs[field.name] = value
        config = cls(**kwargs)
        layers = values.get("num_feat_extract_layers", len(config.conv_dim))
        if layers != len(config.conv_dim):
            raise ConfigError(f"{where}: num_feat_extract_layers {layers} but conv_dim has "
                              f"{len(config.conv_dim)} entries")
        config.validate(where)
        return config

    def to_hf(self) -> dict[str, Any]:
        """The keys as a ``config.json`` holds them (lists, plus model_type and the count)."""
        values = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in dataclasses.asdict(self).items()}
        return {"model_type": FAMILY, "num_feat_extract_layers": len(self.conv_dim), **values}

    def validate(self, where: str = "config.json") -> None:
        convs = (self.conv_dim, self.conv_kernel, self.conv_stride)
        if not self.conv_dim or len({len(c) for c in convs}) != 1:
            raise ConfigError(f"{where}: conv_dim, conv_kernel and conv_stride must be "
                              f"non-empty and of one length, got {[list(c) for c in convs]}")
        for name in ("conv_dim", "conv_kernel", "conv_stride"):
            if not all(_positive(v) for v in getattr(self, name)):
                raise ConfigError(f"{where}.{name}: positive integers, got "
                                  f"{list(getattr(self, name))}")
        for name in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "num_conv_pos_embeddings",
                     "num_conv_pos_embedding_groups", "classifier_proj_size"):
            if not _positive(getattr(self, name)):
                raise ConfigError(f"{where}.{name}: a positive integer, got "
                                  f"{getattr(self, name)!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"{where}: hidden_size {self.hidden_size} is not a multiple of "
                              f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_size % self.num_conv_pos_embedding_groups:
            raise ConfigError(f"{where}: hidden_size {self.hidden_size} is not a multiple of "
                              f"num_conv_pos_embedding_groups "
                              f"{self.num_conv_pos_embedding_groups}")
        if self.feat_extract_norm not in FEAT_EXTRACT_NORMS:
            raise ConfigError(f"{where}.feat_extract_norm: {self.feat_extract_norm!r} not in "
                              f"{list(FEAT_EXTRACT_NORMS)}")
        for name in ("feat_extract_activation", "hidden_act"):
            if getattr(self, name) not in ACTIVATIONS:
                raise ConfigError(f"{where}.{name}: {getattr(self, name)!r} not in "
                                  f"{list(ACTIVATIONS)}")
        for name in ("hidden_dropout", "activation_dropout", "attention_dropout",
                     "feat_proj_dropout", "layerdrop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < 1:
                raise ConfigError(f"{where}.{name}: a number in [0, 1), got {value!r}")
        if not isinstance(self.layer_norm_eps, (int, float)) or not self.layer_norm_eps > 0:
            raise ConfigError(f"{where}.layer_norm_eps: must be > 0, got "
                              f"{self.layer_norm_eps!r}")
        for name in ("conv_bias", "do_stable_layer_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{where}.{name}: true or false, got "
                                  f"{getattr(self, name)!r}")

    @property
    def receptive_field(self) -> int:
        """Samples one output frame sees (400 = 25 ms for the base encoder)."""
        field = 1
        for kernel, stride in reversed(list(zip(self.conv_kernel, self.conv_stride))):
            field = (field - 1) * stride + kernel
        return field

    @property
    def hop(self) -> int:
        """Samples between frames (320 = 20 ms for the base encoder)."""
        hop = 1
        for stride in self.conv_stride:
            hop *= stride
        return hop


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _looks_like_path(checkpoint: str) -> bool:
    return "://" not in checkpoint and (checkpoint.startswith((".", "~")) or "/" in checkpoint
                                        or "\\" in checkpoint)


# The dropout fields of the classifier config: None keeps the checkpoint's config.json value.
DROPOUT_KEYS = ("hidden_dropout", "attention_dropout", "activation_dropout",
                "feat_proj_dropout", "layerdrop")


@dataclasses.dataclass
class Wav2Vec2ClassifierConfig(ModelConfig):
    """Hyperparameters of the wav2vec 2.0 classifier (alqurashi2024 Sec. II-B 2-3)."""

    # Sec. II-B 2: "the publicly released wav2vec2.0 model, which has been pretrained on ...
    # 960 hours of Librispeech" = facebook/wav2vec2-base; Sec. II-B 3 (``w2v2-asr``): "the base
    # model pretrained and fine-tuned on 960 hours of Librispeech" = facebook/wav2vec2-base-960h.
    # A local directory (config.json + model.safetensors or pytorch_model.bin) works offline;
    # None = random initialisation of ``config`` (not the paper's model).
    checkpoint: str | None = "hf://facebook/wav2vec2-base"
    # config.json keys over the checkpoint's (or over the base architecture without one), e.g.
    # a tiny random network for a demo; only the architecture keys of Wav2Vec2Config.
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Sec. II-B 2: "we freeze the CNN-based feature encoder, thereby keeping all parameters of
    # these CNN blocks fixed" (transformers' freeze_feature_encoder(): the 7 conv layers and
    # their norms; the feature projection, positional conv and transformer layers train).
    freeze_feature_encoder: bool = True
    # Paper is silent on the layer it classifies from; -1, the last (the encoder's output, as
    # Wav2Vec2ForSequenceClassification pools it). k >= 0 is hidden_states[k] (0: the input
    # of the first transformer layer), negative values count from the end.
    pooled_layer: int = -1
    # Paper is silent on the head; transformers' Wav2Vec2ForSequenceClassification: projector
    # Dense(classifier_proj_size = 256, the config.json default), masked mean, Dense(classes).
    # None keeps the checkpoint's classifier_proj_size.
    classifier_proj_size: int | None = None
    # Paper is silent; Wav2Vec2ForSequenceClassification has no dropout in its head: 0.0.
    classifier_dropout: float = 0.0
    # Paper is silent on the backbone's dropouts: None keeps the checkpoint's config.json
    # values (what fine-tuning with transformers does); a number replaces it.
    hidden_dropout: float | None = None
    attention_dropout: float | None = None
    activation_dropout: float | None = None
    feat_proj_dropout: float | None = None
    layerdrop: float | None = None
    # the checkpoint's preprocessor_config.json do_normalize (zero mean, unit variance per
    # utterance, inside the model) when None; True without a preprocessor_config.json (the
    # Wav2Vec2FeatureExtractor default, and both of the paper's checkpoints normalise)
    normalize: bool | None = None

    def validate(self) -> None:
        where = FAMILY
        if self.checkpoint is not None:
            if not isinstance(self.checkpoint, str) or not self.checkpoint.strip():
                raise ConfigError(f"{where}.checkpoint: an hf://owner/name handle, a local "
                                  f"directory or null (random init), got {self.checkpoint!r}")
            if _looks_like_path(self.checkpoint) and not Path(
                    self.checkpoint).expanduser().is_dir():
                raise ConfigError(f"{where}.checkpoint {self.checkpoint!r}: no such directory "
                                  "(a Hugging Face wav2vec 2.0 directory: config.json and "
                                  "model.safetensors or pytorch_model.bin)")
        unknown = sorted(set(self.config) - set(Wav2Vec2Config.keys()))
        if unknown:
            raise ConfigError(f"{where}.config: unknown key(s) {unknown}; the architecture "
                              f"keys are {list(Wav2Vec2Config.keys())}")
        for name in DROPOUT_KEYS:
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ConfigError(f"{where}.{name}: a number in [0, 1) or null (the "
                                  f"checkpoint's), got {value!r}")
        if self.classifier_proj_size is not None and self.classifier_proj_size < 1:
            raise ConfigError(f"{where}.classifier_proj_size: must be >= 1 or null, got "
                              f"{self.classifier_proj_size}")
        if self.checkpoint is None:
            # random init: the overrides over the base architecture are the whole network
            # (with a checkpoint they are checked over its config.json when it is built)
            Wav2Vec2Config.from_hf(self.architecture_overrides(), where=f"{where}.config")
        if not 0 <= self.classifier_dropout < 1:
            raise ConfigError(f"{where}.classifier_dropout: must be in [0, 1), got "
                              f"{self.classifier_dropout}")

    def architecture_overrides(self) -> dict[str, Any]:
        """``config`` plus the dropout / projector fields that are set, as config.json keys."""
        overrides = dict(self.config)
        overrides.update({k: getattr(self, k) for k in DROPOUT_KEYS
                          if getattr(self, k) is not None})
        if self.classifier_proj_size is not None:
            overrides["classifier_proj_size"] = self.classifier_proj_size
        return overrides


__all__ = ["ACTIVATIONS", "DROPOUT_KEYS", "FAMILY", "FEAT_EXTRACT_NORMS", "GROUP_NORM_EPSILON",
           "NORMALIZE_EPSILON", "SAMPLE_RATE", "Wav2Vec2ClassifierConfig", "Wav2Vec2Config"]
