"""``w2v2_mean``: frozen wav2vec 2.0 embeddings, the mean over frames of one layer, one
(hidden,) vector per utterance (768 for wav2vec2-base): alqurashi2024's speech encoder
(Sec. II-B 2-3) used as a fixed feature extractor, for users without a GPU to fine-tune it.

    get_feature_set("w2v2_mean")                                    # wav2vec2-base, last layer
    get_feature_set("w2v2_mean", checkpoint="/path/to/dir", layer=6)

Options (all recorded in the store metadata, with the checkpoint's sha256):

- ``checkpoint``: ``hf://facebook/wav2vec2-base`` (the paper's, the default; needs the hub
  once, then its cache) or ``hf://facebook/wav2vec2-base-960h`` (the ASR-fine-tuned one), or a
  local Hugging Face directory (config.json + model.safetensors or pytorch_model.bin; works
  offline);
- ``layer``: the hidden-states index, as ``ser_keras.models.wav2vec2.select_layer`` reads it:
  -1 (default) the encoder's output, 0 the input of the first transformer layer, k the output
  of layer k.

The model is the package's Keras backbone (``ser_keras.models.wav2vec2``) with the
checkpoint's input normalisation, run in inference mode on each whole utterance alone (no
padding, so no mask is involved); the mean is over every frame. Each worker process loads its
own copy (the instance is pickled without it).
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from data_prep.errors import PrepareError
from data_prep.features.base import AudioFeature, require_finite

DEFAULT_CHECKPOINT = "hf://facebook/wav2vec2-base"  # alqurashi2024 Sec. II-B 2


@dataclasses.dataclass
class W2V2Mean(AudioFeature):
    """Mean over frames of one wav2vec 2.0 layer; see the module docstring."""

    name: ClassVar[str] = "w2v2_mean"
    rank: ClassVar[str] = "vector"

    checkpoint: str = DEFAULT_CHECKPOINT
    layer: int = -1

    def __post_init__(self):
        self._directory: str | None = None   # the resolved checkpoint (kept when pickled)
        self._loaded = None                  # (backbone, fingerprint, architecture); not pickled

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_loaded"] = None
        return state

    # --- loading ---------------------------------------------------------------------------
    def _load(self):
        if self._loaded is None:
            from ser_keras.errors import ConfigError
            from ser_keras.models.wav2vec2 import load_backbone, model, open_checkpoint

            try:
                # workers reuse the directory the main process resolved (no hub call there)
                ckpt = open_checkpoint(self._directory or self.checkpoint)
                backbone = load_backbone(str(ckpt.directory))
                model.check_layer(self.layer, backbone.architecture, "w2v2_mean.layer")
                fingerprint = ckpt.fingerprint()
            except ConfigError as err:
                raise PrepareError(f"w2v2_mean: {err}") from err
            self._directory = str(ckpt.directory)
            self._loaded = (backbone, fingerprint, backbone.architecture)
        return self._loaded

    def describe(self) -> dict[str, Any]:
        import keras

        _, fingerprint, arch = self._load()
        description = super().describe()
        description.update(
            config={"checkpoint": self.checkpoint, "checkpoint_sha256": fingerprint,
                    "layer": self.layer, "num_hidden_layers": arch.num_hidden_layers,
                    "pooling": "mean over all frames of the whole utterance",
                    "normalize": bool(self._loaded[0].normalize), "frozen": True},
            dim=int(arch.hidden_size), frame_shift_s=None, frame_length_s=None,
            versions={"keras": keras.__version__}, checkpoint_path=self._directory)
        return description

    # --- extraction ------------------------------------------------------------------------
    def extract(self, signal: np.ndarray) -> np.ndarray:
        """(hidden,) float32: the mean over frames of layer ``layer`` of the utterance."""
        import keras

        from ser_keras.models.wav2vec2 import select_layer

        backbone, _, _ = self._load()
        y = np.asarray(signal, dtype=np.float32).reshape(-1)
        require_finite(y, self.name)
        if y.size == 0:
            y = np.zeros(1, np.float32)  # the model pads it to one frame
        encoded = backbone({backbone.audio_name: y[None, :, None],
                            f"{backbone.audio_name}_mask": np.ones((1, y.size), np.float32)},
                           training=False)
        hidden = keras.ops.convert_to_numpy(select_layer(encoded, self.layer))[0]  # (T, H)
        return hidden.astype(np.float64).mean(axis=0).astype(np.float32)


W2V2_SETS: tuple[type, ...] = (W2V2Mean,)
"""The classes of this module, for registration."""
