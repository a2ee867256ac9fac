"""Custom Keras 3 layers of the model zoo: ``keras.layers`` and ``keras.ops`` only, so the zoo
runs under any Keras backend (TensorFlow, JAX, PyTorch). Every layer is registered
(``ser_keras>Name``) and round-trips through ``get_config`` and ``.keras`` files.
"""
from ser_keras.layers.activations import fast_gelu
from ser_keras.layers.attention import (
    FusionMultiHeadAttention,
    MultiplicativeSelfAttention,
    masked_softmax,
)
from ser_keras.layers.sequence import (
    MaskedGlobalAveragePooling1D,
    MaskedResample,
    interpolation_weights,
    linear_resample,
)
from ser_keras.layers.transformer import (
    DotSelfAttention,
    SinusoidalPositionalEncoding,
    TransformerEncoder,
    sinusoidal_encoding,
    transformer_encoder_params,
)

__all__ = [
    "DotSelfAttention",
    "FusionMultiHeadAttention",
    "MaskedGlobalAveragePooling1D",
    "MaskedResample",
    "MultiplicativeSelfAttention",
    "SinusoidalPositionalEncoding",
    "TransformerEncoder",
    "fast_gelu",
    "interpolation_weights",
    "linear_resample",
    "masked_softmax",
    "sinusoidal_encoding",
    "transformer_encoder_params",
]
