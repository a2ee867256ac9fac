"""A generic multilayer perceptron on one utterance-level feature vector (the ``mlp`` baseline).

No paper's model: the baseline every corpus and feature set can be run with, e.g. on the 88
eGeMAPS functionals (``egemaps_func``, the entry's default) or on a concatenation of vector
sets (``audio=mfcc39_mean+prosody8``):

    >>> from ser_keras import models
    >>> model = models.build_model("mlp", {"inputs": {"audio": {"rank": "vector", "dim": 88}},
    ...                                    "num_classes": 4})

Input (a dict): ``audio`` (batch, dim), a ``vector`` input of the registry (no mask). Output
(``ser_keras.models.heads.output_layer``): softmax probabilities (batch, num_classes), or linear
values (batch, num_outputs) when the input spec asks for continuous targets; float32 also under
mixed precision.
"""
from __future__ import annotations

import dataclasses

import keras

from ser_keras.errors import ConfigError
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec, ModelConfig

# eGeMAPS v02 functionals (Eyben et al. 2016): the standard utterance-level SER baseline set.
AUDIO_INPUT = InputDecl("audio", "vector", default="egemaps_func", paper_dim=88,
                        description="utterance-level features (default: 88 eGeMAPS functionals)")
PAPER_NUM_CLASSES = 4  # the four IEMOCAP emotions most SER baselines report

# The recipe of ad-hoc runs (``ser-train --model mlp``), in the shape of TrainingConfig: generic
# defaults, no paper's.
TRAINING = {
    "optimizer": {"name": "adam"},  # Adam: robust without tuning on small tabular inputs
    "learning_rate": 1e-3,          # Adam's usual default (Kingma & Ba 2015)
    "schedule": {"name": "none"},   # early stopping (patience) ends training instead
    # Emotion corpora are imbalanced (IEMOCAP neutral vs. happy): weight classes so minority
    # classes count, as the selection metric does.
    "loss": {"name": "cross_entropy", "class_weights": "inverse_frequency"},
    "epochs": 100,                  # an upper bound; an MLP on 88 dims converges well before
    "batch_size": 32,               # small corpora (a few thousand utterances): many steps
    "selection_metric": "balanced_accuracy",  # unweighted average recall, SER's usual metric
    "patience": 20,                 # stop 20 epochs after the best validation epoch
}


@dataclasses.dataclass
class MLPConfig(ModelConfig):
    """Hyperparameters of the MLP baseline; generic defaults, each with its reason."""

    # One narrow hidden layer with strong regularisation: emotional speech corpora are small
    # (hundreds to a few thousand utterances) and speaker-independent tests punish
    # memorising speakers. Chosen over (256, 128) / dropout 0.3 / L2 1e-4, which overfit the
    # validation speakers of URDU's speaker folds (the comparison is in the spine issue's note).
    hidden_units: tuple[int, ...] = (64,)
    dropout: float = 0.5        # after each hidden layer: against overfitting small corpora
    activation: str = "relu"    # any keras.activations name; ReLU is the usual MLP default
    # BatchNorm on the input standardises features of very different scales (eGeMAPS mixes
    # Hz, dB and ratios), with statistics learnt on the training data only.
    input_norm: bool = True
    l2: float = 1e-2            # L2 on the hidden kernels: strong weight decay for small data
    # BatchNorm after each hidden Dense (before its activation; the Dense then has no bias,
    # BatchNorm's beta replaces it): faster, steadier training at lr 1e-3.
    batch_norm: bool = True

    def validate(self) -> None:
        if any(u < 1 for u in self.hidden_units):
            raise ConfigError(f"mlp.hidden_units: every width must be >= 1, "
                              f"got {self.hidden_units}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"mlp.dropout: must be in [0, 1), got {self.dropout}")
        if self.l2 < 0:
            raise ConfigError(f"mlp.l2: must be >= 0, got {self.l2}")
        try:
            keras.activations.get(self.activation)
        except ValueError:
            raise ConfigError(f"mlp.activation: {self.activation!r} is not a Keras "
                              "activation") from None


@keras.saving.register_keras_serializable(package="ser_keras")
class MLP(keras.Model):
    """[BatchNorm] -> per ``hidden_units`` entry: Dense -> [BatchNorm] -> activation -> Dropout
    -> output head.

    Args:
        input_dim: width of the input vector.
        num_outputs: width of the output: classes (softmax) or continuous targets (linear).
        output: "classes" (softmax) or "values" (linear regression head).
        input_name: name of the model input (the registry entry's declared input).
        The other arguments are the ``MLPConfig`` fields.
    """

    def __init__(self, input_dim, num_outputs, hidden_units, dropout, activation, input_norm,
                 l2, batch_norm, output="classes", input_name="audio", **kwargs):
        hidden_units = tuple(int(u) for u in hidden_units)

        # === Layers ===
        # Standardise the raw features (learnt mean/variance; see MLPConfig.input_norm).
        norm = keras.layers.BatchNormalization(name="input_norm") if input_norm else None
        hidden = []
        for i, units in enumerate(hidden_units):
            # With BatchNorm after it, the Dense bias is redundant (BatchNorm's beta shifts).
            hidden.append(keras.layers.Dense(units, use_bias=not batch_norm,
                                             kernel_regularizer=keras.regularizers.L2(l2),
                                             name=f"hidden_dense_{i}"))
            if batch_norm:
                hidden.append(keras.layers.BatchNormalization(name=f"hidden_norm_{i}"))
            hidden += [keras.layers.Activation(activation, name=f"hidden_activation_{i}"),
                       keras.layers.Dropout(dropout, name=f"hidden_dropout_{i}")]
        head = output_layer(InputSpec(inputs={}, num_outputs=num_outputs, output=output))

        # === Functional model ===
        x_input = keras.Input(shape=(input_dim,), name=input_name)
        x = norm(x_input) if norm is not None else x_input  # (batch, input_dim)
        for layer in hidden:
            x = layer(x)  # (batch, units)
        outputs = head(x)  # (batch, num_outputs)
        super().__init__(inputs={input_name: x_input}, outputs=outputs, **kwargs)

        # === Config ===
        self.input_dim = input_dim
        self.num_outputs = num_outputs
        self.output_kind = output
        self.input_name = input_name
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.activation = activation
        self.input_norm = input_norm
        self.l2 = l2
        self.batch_norm = batch_norm

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dim": self.input_dim,
            "num_outputs": self.num_outputs,
            "output": self.output_kind,
            "input_name": self.input_name,
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "activation": self.activation,
            "input_norm": self.input_norm,
            "l2": self.l2,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_mlp(input_spec: InputSpec, config: MLPConfig, entry) -> MLP:
    """Registry builder of ``mlp``: one vector input (the entry's), the spec's outputs."""
    (decl,) = entry.inputs
    return MLP(input_dim=input_spec.dim(decl.name), num_outputs=input_spec.num_outputs,
               output=input_spec.output, input_name=decl.name,
               name=entry.name.replace("-", "_"), **config.to_dict())
