"""CNN14 and its linguistic conditioning (SFCNN14, MFCNN14) of triantafyllopoulos2022: one
builder, the fusion a config field.

Triantafyllopoulos, Reichel, Liu, Huber, Eyben, Schuller, "Multistage linguistic conditioning of
convolutional layers for speech emotion recognition" (``/work/shared/papers/
triantafyllopoulos_multistage_cnn14.txt``), Sec. 3, Eq. 1-5, Fig. 1; the acoustic network is
PANNs' Cnn14 (Kong et al. 2020, "PANNs: Large-scale pretrained audio neural networks for audio
pattern recognition"), trained from scratch.

    cnn14    audio (log-Mel frames)                        fusion none    Fig. 1b without fusion
    sfcnn14  audio + text (mean BERT embedding, frozen)    fusion single  Fig. 1b
    mfcnn14  audio + text                                  fusion multi   Fig. 1a, 1c, Eq. 1-5

    >>> from ser_keras import models
    >>> model = models.build_model("mfcnn14", models.paper_spec("mfcnn14"))  # 64 / 768, 4 classes

Inputs: ``audio`` (batch, T, 64) log-Mel frames and ``audio_mask`` (batch, T), right-padded
(Sec. 3: 5 s random crops in training, whole utterances at test time); ``text`` (batch, 768),
the mean of BERT's token embeddings (Sec. 3), for the fusions. Output (``output_layer``):
softmax (batch, num_classes), or linear values when the input spec asks for continuous targets.

The network (Sec. 3; PANNs' Cnn14 where the paper defers to it):

    BatchNorm over the Mel bins (PANNs bn0)
    6 x block b (channels 64, 128, 256, 512, 1024, 2048, times ``width``):
        [3x3 conv (stride 1, no bias) -> BatchNorm -> ReLU] x 2      Eq. 1, 2
        2x2 max pooling, stride 2x2                                   Eq. 3
        mfcnn14: + Dense(channels_b)(text), a per-channel bias       Eq. 4, 5
        dropout 0.2
    mean over frequency; max + mean over time (PANNs: x = max_t + mean_t)
    sfcnn14: + Dense(2048)(text)                                     Sec. 3, Fig. 1b
    dropout 0.5 -> Dense(2048) + ReLU (PANNs fc1) -> dropout 0.5 -> output head
                                                   (Sec. 3: "two linear layers")

Where the paper and PANNs differ, the paper wins: PANNs' Cnn14 pools by 2x2 *average* pooling
and not at all after block 6; Sec. 3 says every block is "followed by max pooling" with "a
stride of 2x2", so here every block, block 6 included, ends in 2x2 max pooling (no parameter
changes). PANNs' spectrogram front end, SpecAugment and mixup are not part of the model (the
paper does not mention them; the log-Mel frames are precomputed as ``logmel64``).

Padding. Variable-length utterances come right-padded with a mask. After the input BatchNorm
and after every conv -> BatchNorm (and so after its ReLU) the activations are multiplied by
the time mask, so the zeros a padded batch holds past a sample's end are exactly the zero
padding a "same" convolution gives that sample alone; BatchNorm's training statistics skip the
padding; the time mask is max-pooled with every pooling (a pooled frame is real when any of its
frames is); the conditioning bias of MFCNN14 is re-masked; the time max and mean are masked.
Pooling uses "same" padding, so T frames become ceil(T / 2) and a 1-frame utterance stays 1
frame through all six blocks (and the 64 Mel bins become 32, 16, 8, 4, 2, 1).

Parameter counts (``ser-models NAME``; width 1, 64 Mel bins, 768-dim text, 4 classes):

    cnn14    79,698,244 total, 79,681,988 trainable, 16,256 non-trainable
    sfcnn14  81,273,156 total, 81,256,900 trainable, 16,256 non-trainable (+768 x 2048 + 2048)
    mfcnn14  82,798,852 total, 82,782,596 trainable, 16,256 non-trainable (+769 x 4032)

The non-trainable weights are the BatchNorm moving means and variances (8,128 channels x 2),
which PyTorch keeps as buffers. PANNs' Cnn14 has 80,753,615 PyTorch parameters with its
527-class AudioSet layer (2048 x 527 + 527 = 1,079,823), so 79,673,792 without it; with this
model's 4-class head (2048 x 4 + 4 = 8,196) that is 79,681,988, our trainable count exactly.
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from ser_keras.errors import ConfigError
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import InputDecl, InputSpec, ModelConfig

PAPER = "triantafyllopoulos2022"
FAMILY = "cnn14"
FUSIONS = ("none", "single", "multi")

# Sec. 3: "log-Mel spectrograms computed with 64 Mel bins, a window size of 32 ms, and a hop
# size of 10 ms" at 16 kHz: the ``logmel64`` feature set.
AUDIO_INPUT = InputDecl("audio", "sequence", default="logmel64", paper_dim=64,
                        description="log-Mel spectrogram frames (64 bins, 32 ms / 10 ms)")
# Sec. 3: "Linguistic embeddings are computed by averaging the token-embeddings returned by
# BERT for each utterance", BERT frozen: the ``bert_mean`` feature set (bert-base, 768).
TEXT_INPUT = InputDecl("text", "vector", default="bert_mean", paper_dim=768,
                       description="mean of frozen BERT token embeddings (768)")
PAPER_NUM_CLASSES = 4  # Sec. 4.2: angry, happy (+ excited on IEMOCAP), neutral, sad

# PANNs (Kong et al. 2020) Cnn14: the channels of its six convolution blocks.
CHANNELS = (64, 128, 256, 512, 1024, 2048)

# ser-models compares cnn14 with PANNs' Cnn14 (the paper prints no counts and defers to it):
# 80,753,615 PyTorch parameters (conv 75,461,184 + BatchNorm gamma/beta 16,256 + fc1 4,196,352
# + the 527-class layer 1,079,823), so 79,673,792 without its AudioSet layer; with a 4-class
# head (8,196), as cnn14 is built at the paper's spec, 79,681,988 trainable. Keras also counts
# the BatchNorm moving means / variances (PyTorch buffers, 2 x 8,128 channels): 79,698,244 total.
CNN14_PAPER_PARAMS = {"total": 79_698_244, "trainable": 79_681_988,
                      "source": "PANNs Cnn14 (Kong et al. 2020): 80,753,615 PyTorch parameters "
                                "less its 527-class layer (1,079,823) plus a 4-class one (8,196);"
                                " total adds the 16,256 BatchNorm moving statistics"}

# The recipe of ad-hoc runs (``ser-train --model cnn14``), in the shape of TrainingConfig.
TRAINING = {
    # Sec. 4.2: "stochastic gradient descent (SGD) with a Nesterov momentum of 0.9"
    "optimizer": {"name": "sgd", "options": {"momentum": 0.9, "nesterov": True}},
    "learning_rate": 0.01,        # Sec. 4.2: "a learning rate of 0.01"
    "schedule": {"name": "none"},  # Sec. 4.2 names no schedule: a constant rate
    # Sec. 4.2: "a weighted variant of cross-entropy, where the loss for each sample is
    # weighted by the inverse frequency of the class it belongs to"
    "loss": {"name": "cross_entropy", "class_weights": "inverse_frequency"},
    "epochs": 60,                 # Sec. 4.2: "trained for 60 epochs"
    "batch_size": 64,             # Sec. 4.2: "a batch size of 64"
    # Sec. 4.2: "We select the model that performed best on each respective validation set";
    # UAR, the paper's categorical metric, is balanced accuracy
    "selection_metric": "balanced_accuracy",
    "patience": None,             # Sec. 4.2: all 60 epochs, no early stopping
}
# The entries' defaults (registry ``defaults``): the fusion of each name.
SFCNN14_DEFAULTS = {"fusion": "single"}
MFCNN14_DEFAULTS = {"fusion": "multi"}


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, rounded, at least 1."""
    return max(1, int(round(channels * width)))


@dataclasses.dataclass
class CNN14Config(ModelConfig):
    """Hyperparameters of CNN14 / SFCNN14 / MFCNN14, each with its section."""

    # Sec. 3: none = CNN14; single = SFCNN14 (text added after mean + max pooling, Fig. 1b);
    # multi = MFCNN14 (text added after every block, Eq. 1-5, Fig. 1a/1c)
    fusion: str = "none"
    # not in the paper (1.0 is the paper's / PANNs' network): a multiplier of every block's
    # channels and of fc1's units, max(1, round(c * width)), for small corpora and tests
    width: float = 1.0
    # Sec. 3: "Dropout with a probability of 0.2 is applied after every each convolution
    # block" (PANNs Cnn14 likewise)
    block_dropout: float = 0.2
    head_dropout: float = 0.5     # PANNs (Kong et al. 2020) Cnn14: dropout 0.5 before and after fc1
    # PANNs (Kong et al. 2020) Cnn14: PyTorch BatchNorm2d defaults, momentum 0.1 (Keras'
    # momentum is 1 - PyTorch's: 0.9) and eps 1e-5
    batch_norm_momentum: float = 0.9
    batch_norm_epsilon: float = 1e-5

    def validate(self) -> None:
        if self.fusion not in FUSIONS:
            raise ConfigError(f"{FAMILY}.fusion: {self.fusion!r} not in {list(FUSIONS)}")
        if not self.width > 0:
            raise ConfigError(f"{FAMILY}.width: must be > 0, got {self.width!r}")
        for name in ("block_dropout", "head_dropout", "batch_norm_momentum"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{FAMILY}.{name}: must be in [0, 1), got {value}")
        if not self.batch_norm_epsilon > 0:
            raise ConfigError(f"{FAMILY}.batch_norm_epsilon: must be > 0, got "
                              f"{self.batch_norm_epsilon}")


# --------------------------------------------------------------------------------------------
# Masked layers (parameter-free but for the BatchNorm)
# --------------------------------------------------------------------------------------------
def _time_weights(time_mask, x):
    """The (batch, T) mask as ``x``'s dtype, shaped to broadcast over ``x``'s other axes."""
    weights = ops.cast(time_mask, x.dtype)
    for _ in range(len(x.shape) - 2):
        weights = ops.expand_dims(weights, -1)
    return weights


@keras.saving.register_keras_serializable(package="ser_keras")
class TimeMaskedBatchNormalization(keras.layers.BatchNormalization):
    """BatchNormalization of (batch, T, ...) whose training statistics leave out the padded
    steps (``time_mask`` 0) and whose output is zero there.

    Zero at the padding, so that the next "same" convolution reads the zeros a sample alone
    would be padded with; the ReLU after it keeps them zero.
    """

    def build(self, inputs_shape, time_mask_shape=None):
        super().build(inputs_shape)

    def call(self, inputs, time_mask, training=None):
        weights = _time_weights(time_mask, inputs)     # (batch, T, 1, ...)
        # Keras' BatchNormalization takes a mask of the input's shape less the channels axis
        mask = weights[..., 0] * ops.ones_like(inputs[..., 0])
        outputs = super().call(inputs, training=training, mask=mask)
        return outputs * ops.cast(weights, outputs.dtype)

    def compute_output_shape(self, inputs_shape, time_mask_shape=None):
        return inputs_shape


@keras.saving.register_keras_serializable(package="ser_keras")
class PoolTimeMask(keras.layers.Layer):
    """The time mask of a 2-stride "same" pooling: (batch, T) -> (batch, ceil(T / 2)); a
    pooled step is real when any of its two steps is."""

    def call(self, time_mask):
        pooled = ops.max_pool(ops.expand_dims(time_mask, -1), pool_size=2, strides=2,
                              padding="same")
        return ops.squeeze(pooled, -1)

    def compute_output_shape(self, time_mask_shape):
        steps = time_mask_shape[1]
        return (time_mask_shape[0], None if steps is None else -(-steps // 2))


@keras.saving.register_keras_serializable(package="ser_keras")
class ChannelBias(keras.layers.Layer):
    """MFCNN14's conditioning (Eq. 4): ``x`` (batch, T, F, C) plus a per-sample bias (batch,
    C) on every feature map, broadcast over time and frequency; zero again at the padding."""

    def call(self, x, bias, time_mask):
        shifted = x + ops.cast(bias, x.dtype)[:, None, None, :]
        return shifted * _time_weights(time_mask, x)

    def compute_output_shape(self, x_shape, bias_shape=None, time_mask_shape=None):
        return x_shape


@keras.saving.register_keras_serializable(package="ser_keras")
class MaskedMeanMaxPooling(keras.layers.Layer):
    """PANNs (Kong et al. 2020) Cnn14's global pooling: the mean over frequency, then the max
    plus the mean over the real time steps: (batch, T, F, C) -> (batch, C)."""

    def call(self, x, time_mask):
        x = ops.mean(x, axis=2)                                   # (batch, T, C)
        weights = _time_weights(time_mask, x)                     # (batch, T, 1)
        valid = weights > 0
        # masked max (MFCNN14's last bias may make real steps negative: -inf, not 0, padding)
        peak = ops.max(ops.where(valid, x, float("-inf")), axis=1)
        peak = ops.where(ops.any(valid, axis=1), peak, ops.zeros_like(peak))  # no real step
        mean = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        return peak + mean

    def compute_output_shape(self, x_shape, time_mask_shape=None):
        return (x_shape[0], x_shape[3])


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="ser_keras")
class CNN14(keras.Model):
    """CNN14 (``fusion`` "none"), SFCNN14 ("single") or MFCNN14 ("multi"); see the module
    docstring for the layers and the padding.

    Args:
        audio_dim: Mel bins of the audio frames (64 in the paper).
        num_outputs: classes (softmax) or continuous targets (linear).
        output: "classes" or "values".
        text_dim: width of the text vector (768 in the paper); None without fusion.
        audio_name / text_name: the model inputs' names (the registry entry's).
        The other arguments are the ``CNN14Config`` fields.
    """

    def __init__(self, audio_dim, num_outputs, fusion="none", width=1.0, block_dropout=0.2,
                 head_dropout=0.5, batch_norm_momentum=0.9, batch_norm_epsilon=1e-5,
                 text_dim=None, output="classes", audio_name="audio", text_name="text",
                 **kwargs):
        if (fusion == "none") != (text_dim is None):
            raise ConfigError(f"{FAMILY}.fusion: {fusion!r} " + (
                "takes no text input" if fusion == "none" else "needs a text input"))
        channels = tuple(scaled(c, width) for c in CHANNELS)

        def batch_norm(name):
            return TimeMaskedBatchNormalization(momentum=batch_norm_momentum,
                                                epsilon=batch_norm_epsilon, name=name)

        # === Functional model ===
        audio = keras.Input(shape=(None, audio_dim), name=audio_name)      # (batch, T, F)
        mask = keras.Input(shape=(None,), name=f"{audio_name}_mask")       # (batch, T)
        inputs = {audio_name: audio, f"{audio_name}_mask": mask}
        text = None
        if text_dim is not None:
            text = keras.Input(shape=(text_dim,), name=text_name)           # (batch, 768)
            inputs[text_name] = text

        # PANNs (Kong et al. 2020) Cnn14 bn0: BatchNorm over the Mel bins, then one channel
        x = batch_norm("bn0")(audio, mask)                                 # (batch, T, F)
        x = keras.layers.Reshape((-1, audio_dim, 1), name="channel")(x)    # (batch, T, F, 1)
        for b, filters in enumerate(channels, start=1):
            for k in (1, 2):  # Sec. 3 / Eq. 1, 2: two 3x3 convolutions, stride 1x1
                # PANNs (Kong et al. 2020) Cnn14: "same" padding, no bias (BatchNorm follows)
                x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                        name=f"block{b}_conv{k}")(x)
                x = batch_norm(f"block{b}_bn{k}")(x, mask)
                x = keras.layers.ReLU(name=f"block{b}_relu{k}")(x)         # (batch, T, F, c)
            # Sec. 3 / Eq. 3: max pooling, stride 2x2, after every block ("same": ceil)
            x = keras.layers.MaxPooling2D(2, padding="same", name=f"block{b}_pool")(x)
            mask = PoolTimeMask(name=f"block{b}_pool_mask")(mask)          # (batch, ceil(T/2))
            if fusion == "multi":
                # Eq. 4, 5: Y = MaxPool(H2) + W E_L + b, one bias per output feature map.
                # Order (the paper is silent on dropout's place): conv-bn-relu x 2 -> pool ->
                # + projection -> dropout, i.e. Eq. 1-4 make the block and Sec. 3's dropout
                # "after every convolution block" follows the conditioned output Y.
                bias = keras.layers.Dense(filters, name=f"block{b}_text_projection")(text)
                x = ChannelBias(name=f"block{b}_condition")(x, bias, mask)
            x = keras.layers.Dropout(block_dropout, name=f"block{b}_dropout")(x)
        x = MaskedMeanMaxPooling(name="mean_max_pooling")(x, mask)          # (batch, c6)
        if fusion == "single":
            # Sec. 3: "immediately after mean and max pooling. The linguistic embeddings are
            # first projected to the appropriate dimension, and then added"
            projected = keras.layers.Dense(channels[-1], name="text_projection")(text)
            x = keras.layers.Add(name="fusion")([x, projected])
        # PANNs (Kong et al. 2020) Cnn14: dropout 0.5, fc1 (2048, ReLU), dropout 0.5, then the
        # output layer: Sec. 3's "two linear layers"
        x = keras.layers.Dropout(head_dropout, name="pooled_dropout")(x)
        x = keras.layers.Dense(scaled(CHANNELS[-1], width), activation="relu", name="fc1")(x)
        x = keras.layers.Dropout(head_dropout, name="fc1_dropout")(x)
        outputs = output_layer(InputSpec(inputs={}, num_outputs=num_outputs,
                                         output=output))(x)                # (batch, outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.audio_dim = audio_dim
        self.num_outputs = num_outputs
        self.fusion = fusion
        self.width = width
        self.block_dropout = block_dropout
        self.head_dropout = head_dropout
        self.batch_norm_momentum = batch_norm_momentum
        self.batch_norm_epsilon = batch_norm_epsilon
        self.text_dim = text_dim
        self.output_kind = output
        self.audio_name = audio_name
        self.text_name = text_name
        self.channels = channels

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "audio_dim": self.audio_dim,
            "num_outputs": self.num_outputs,
            "fusion": self.fusion,
            "width": self.width,
            "block_dropout": self.block_dropout,
            "head_dropout": self.head_dropout,
            "batch_norm_momentum": self.batch_norm_momentum,
            "batch_norm_epsilon": self.batch_norm_epsilon,
            "text_dim": self.text_dim,
            "output": self.output_kind,
            "audio_name": self.audio_name,
            "text_name": self.text_name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_cnn14(input_spec: InputSpec, config: CNN14Config, entry) -> CNN14:
    """Registry builder of ``cnn14`` / ``sfcnn14`` / ``mfcnn14``: the entry's sequence input is
    the audio, its vector input (the fusions only) the text."""
    audio = [d for d in entry.inputs if d.rank == "sequence"]
    text = [d for d in entry.inputs if d.rank == "vector"]
    if len(audio) != 1 or len(text) > 1 or len(entry.inputs) != len(audio) + len(text):
        raise ConfigError(f"model {entry.name!r}: {FAMILY} takes one sequence input (audio) "
                          f"and at most one vector input (text), got "
                          f"{[str(d) for d in entry.inputs]}")
    if (config.fusion == "none") != (not text):
        raise ConfigError(f"models.{entry.name}.fusion: {config.fusion!r} " + (
            "takes no text input, but the model has one" if config.fusion == "none"
            else "needs a text input, but the model has none"))
    return CNN14(audio_dim=input_spec.dim(audio[0].name), num_outputs=input_spec.num_outputs,
                 output=input_spec.output, audio_name=audio[0].name,
                 text_dim=input_spec.dim(text[0].name) if text else None,
                 text_name=text[0].name if text else "text",
                 name=entry.name.replace("-", "_"), **config.to_dict())


__all__ = ["AUDIO_INPUT", "CHANNELS", "CNN14", "CNN14Config", "CNN14_PAPER_PARAMS",
           "ChannelBias", "FUSIONS", "MFCNN14_DEFAULTS", "MaskedMeanMaxPooling", "PAPER",
           "PAPER_NUM_CLASSES", "PoolTimeMask", "SFCNN14_DEFAULTS", "TEXT_INPUT",
           "TRAINING", "TimeMaskedBatchNormalization", "build_cnn14", "scaled"]
