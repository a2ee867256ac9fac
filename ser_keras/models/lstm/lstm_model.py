"""LSTM + two fully connected layers: the speech and text models of alqurashi2024's hierarchy.

Alqurashi, Li and Sidorov, "Improving speech emotion recognition through hierarchical
classification and text integration", IJCNN 2024
(``/work/shared/papers/alqurashi2024_hierarchical.txt``):

- Sec. II-B 1: "Both speech models in the hierarchical system applied LSTMs followed by two fully
  connected networks" on the speech features: librosa MFCC-39 (mean over frames), the eight
  handcrafted prosodic features of Sahu 2019 and GeMAPS (``lstm-speech``, input
  ``audio=mfcc39_mean+prosody8+gemaps_func``, 39 + 8 + 62 = 109 dims). Paper is silent on
  GeMAPS' level and on how the three are combined: the 62 GeMAPS v01b functionals (an
  utterance vector like the other two) concatenated with them into one vector.
- Sec. II-C: "LSTMs followed by two fully connected networks ... using the text embeddings", a
  t x 768 matrix of BERT word embeddings (``lstm-text``, input ``text=bert_tokens``).
- Sec. II-B, II-C: batch 64, Adam, cross-entropy; "the other hyperparameters" chosen with
  Optuna (``ser-tune``): units, dropout and learning rate are config fields with defaults that
  the paper does not give.

One builder for both: the input's rank decides. A ``sequence`` input (frames or tokens) runs
the LSTM over its steps with the padding mask, so padding never changes a prediction. A
``vector`` input is read as a sequence of ONE step (paper is silent on how an LSTM reads one
utterance vector; one step keeps every feature at one time step, where reading the 109 features
as 109 "time steps" would make their arbitrary order the model's time axis;
``vector_steps: features`` gives that reading).

    >>> from ser_keras import models
    >>> models.build_model("lstm-speech", {"inputs": {"audio": {"rank": "vector", "dim": 109}},
    ...                                    "num_classes": 2})
"""
from __future__ import annotations

import dataclasses

import keras

from ser_keras.errors import ConfigError
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec, ModelConfig

PAPER = "alqurashi2024"
PAPER_NUM_CLASSES = 4  # Sec. III-A: angry, happy, sad, neutral (Model 3; Models 1/2: 2 and 3)

# Sec. II-B 1: MFCC-39 mean (librosa) + Sahu's eight + GeMAPS functionals (openSMILE).
SPEECH_INPUT = InputDecl("audio", "vector", default="mfcc39_mean+prosody8+gemaps_func",
                         paper_dim=39 + 8 + 62,
                         description="utterance vector: MFCC-39 mean + prosody8 + GeMAPS "
                                     "functionals")
# Sec. II-C: BERT word embeddings, t x 768.
TEXT_INPUT = InputDecl("text", "sequence", default="bert_tokens", paper_dim=768,
                       description="BERT token embeddings (t x 768)")

# The recipe (TrainingConfig's shape), Sec. II-B / II-C where given.
TRAINING = {
    "optimizer": {"name": "adam"},        # Sec. II-B, II-C: "the Adam method"
    "learning_rate": 1e-3,                # paper is silent (Optuna): Adam's default
    "schedule": {"name": "none"},         # paper is silent
    "loss": {"name": "cross_entropy"},    # Sec. II-B, II-C: cross-entropy (no class weights)
    "batch_size": 64,                     # Sec. II-B, II-C: "The batch size is set to 64"
    "epochs": 100,                        # paper is silent: an upper bound, early stopping ends it
    "selection_metric": "balanced_accuracy",  # paper is silent: UA (reported with WA, Table III)
    "patience": 15,                       # paper is silent
}

VECTOR_STEPS = ("one", "features")


@dataclasses.dataclass
class LSTMConfig(ModelConfig):
    """Hyperparameters of the LSTM + 2 FC model; the paper chose them with Optuna and prints
    none, so every default here is ours (tune them with ``ser-tune``)."""

    units: int = 128            # paper is silent (Optuna): LSTM width
    lstm_layers: int = 1        # paper: "LSTMs" (how many is not said): one
    # paper: "two fully connected networks", read as this hidden layer and then the output
    # head; its width is not given (Optuna): 64
    dense_units: int = 64
    dropout: float = 0.3        # paper is silent: after the LSTM and after the hidden Dense
    activation: str = "relu"    # paper is silent: the hidden Dense's activation
    # Standardise the inputs (learnt statistics): the speech vector mixes Hz, dB, ratios and
    # autocorrelations of very different scales (paper is silent).
    input_norm: bool = True
    # Its moving statistics adapt at this rate per step. Keras' default 0.99 needs ~500 steps
    # to forget its initial N(0, 1), and with batch 64 a small corpus gives ~5 steps an epoch:
    # features up to ~3000 (GeMAPS) then saturate the LSTM at inference for tens of epochs and
    # early stopping ends training before the statistics settle (seen on URDU). 0.9: ~50 steps.
    input_norm_momentum: float = 0.9
    vector_steps: str = "one"   # a vector input as one step, or one step per feature

    def validate(self) -> None:
        if self.units < 1 or self.dense_units < 1 or self.lstm_layers < 1:
            raise ConfigError("lstm: units, dense_units and lstm_layers must be >= 1")
        if not 0 < self.input_norm_momentum < 1:
            raise ConfigError(f"lstm.input_norm_momentum: must be in (0, 1), got "
                              f"{self.input_norm_momentum}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lstm.dropout: must be in [0, 1), got {self.dropout}")
        if self.vector_steps not in VECTOR_STEPS:
            raise ConfigError(f"lstm.vector_steps: {self.vector_steps!r}; known: "
                              f"{', '.join(VECTOR_STEPS)}")
        try:
            keras.activations.get(self.activation)
        except ValueError:
            raise ConfigError(f"lstm.activation: {self.activation!r} is not a Keras "
                              "activation") from None


def build_lstm(input_spec: InputSpec, config: LSTMConfig, entry) -> keras.Model:
    """Registry builder of ``lstm-speech`` / ``lstm-text``: [BatchNorm] -> LSTM x layers ->
    Dropout -> Dense -> Dropout -> output head (softmax over the spec's classes)."""
    (decl,) = entry.inputs
    name, rank, dim = decl.name, input_spec.rank(decl.name), input_spec.dim(decl.name)
    if rank == "sequence":
        x_in = keras.Input(shape=(None, dim), name=name)
        mask_in = keras.Input(shape=(None,), name=f"{name}_mask")
        inputs = {name: x_in, f"{name}_mask": mask_in}
        mask = keras.ops.cast(mask_in, "bool")
        x = x_in
    elif rank == "vector":
        x_in = keras.Input(shape=(dim,), name=name)
        inputs = {name: x_in}
        mask = None
        # (batch, dim) -> (batch, 1, dim): one step; or (batch, dim, 1): a step per feature
        shape = (1, dim) if config.vector_steps == "one" else (dim, 1)
        x = keras.layers.Reshape(shape, name="as_steps")(x_in)
    else:
        raise ConfigError(f"{entry.name}: input {name} must be a sequence or a vector, not "
                          f"{rank}")
    if config.input_norm:
        # over the feature axis; padded steps are excluded from the statistics by the mask
        x = keras.layers.BatchNormalization(momentum=config.input_norm_momentum,
                                            name="input_norm")(x, mask=mask)
    for i in range(config.lstm_layers):
        last = i == config.lstm_layers - 1
        x = keras.layers.LSTM(config.units, return_sequences=not last,
                              name=f"lstm_{i}")(x, mask=mask)
    x = keras.layers.Dropout(config.dropout, name="lstm_dropout")(x)
    x = keras.layers.Dense(config.dense_units, activation=config.activation,
                           name="dense")(x)  # the first of the "two fully connected networks"
    x = keras.layers.Dropout(config.dropout, name="dense_dropout")(x)
    outputs = output_layer(input_spec)(x)  # the second
    return keras.Model(inputs, outputs, name=entry.name.replace("-", "_"))
