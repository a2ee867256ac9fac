"""Hugging Face wav2vec 2.0 checkpoints -> the Keras backbone (and back).

    ckpt = open_checkpoint("hf://facebook/wav2vec2-base")   # or a local directory
    ckpt.config, ckpt.preprocessor                          # config.json, preprocessor_config.json
    load_state_dict(backbone, ckpt.state_dict(), where=ckpt.source)
    save_checkpoint(backbone, "/tmp/dir")                   # config.json + model.safetensors

A checkpoint is a directory with ``config.json`` and ``model.safetensors`` (read with
safetensors.numpy) or ``pytorch_model.bin`` (read with torch, when it is installed: torch is
never a requirement of this package). ``hf://owner/name`` is fetched with huggingface_hub's
``snapshot_download`` (its cache works offline once filled). Tensors may carry the
``wav2vec2.`` prefix (Wav2Vec2ForPreTraining, Wav2Vec2ForCTC, ...ForSequenceClassification:
facebook/wav2vec2-base, facebook/wav2vec2-base-960h) or not (Wav2Vec2Model); the heads outside
the backbone (quantizer, project_q, project_hid, lm_head, projector, classifier) and
``masked_spec_embed`` (SpecAugment's mask vector) are ignored. The positional conv's weight norm
is read in both spellings, ``weight_g`` / ``weight_v`` and
``parametrizations.weight.original0`` / ``original1``, or as a plain ``weight`` (norm removed).
Every problem is a ``ConfigError`` that names the file or the tensor (with both shapes).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ser_keras.errors import ConfigError
from ser_keras.models.wav2vec2.config import SAMPLE_RATE, Wav2Vec2Config

HUB = "hf://"
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")   # the first present is read
PREFIX = "wav2vec2."
# Tensors inside the backbone's namespace that the backbone does not use.
IGNORED = ("masked_spec_embed",)
# Heads of the task models, when a checkpoint has no prefix (with one they lie outside it).
HEADS = ("quantizer.", "project_q.", "project_hid.", "lm_head.", "projector.", "classifier.",
         "layer_weights")
_POS_CONV = "encoder.pos_conv_embed.conv"
_DIRECTORY_HINT = ("a Hugging Face wav2vec 2.0 directory holds config.json and "
                   "model.safetensors or pytorch_model.bin")


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:300]


# --------------------------------------------------------------------------------------------
# Checkpoint files
# --------------------------------------------------------------------------------------------
def resolve_checkpoint(checkpoint: str) -> Path:
    """The local directory of ``checkpoint``: a directory as it is, ``hf://owner/name``
    through huggingface_hub's ``snapshot_download`` (config files and ONE weight file)."""
    if not checkpoint.startswith(HUB):
        path = Path(checkpoint).expanduser()
        if not path.is_dir():
            raise ConfigError(f"wav2vec2 checkpoint {checkpoint!r}: no such directory ("
                              f"{_DIRECTORY_HINT}; hub checkpoints are written "
                              "hf://owner/name)")
        return path.resolve()
    repo = checkpoint[len(HUB):].strip("/")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"wav2vec2 checkpoint {checkpoint!r}: hf:// needs huggingface_hub "
                          "(pip install huggingface_hub); or give a local directory "
                          f"({_DIRECTORY_HINT})") from None
    try:
        path = Path(snapshot_download(repo, allow_patterns=[CONFIG_FILE, PREPROCESSOR_FILE,
                                                            WEIGHT_FILES[0]]))
        if not (path / WEIGHT_FILES[0]).is_file():  # older repositories: the torch file only
            path = Path(snapshot_download(repo, allow_patterns=[CONFIG_FILE,
                                                                PREPROCESSOR_FILE,
                                                                WEIGHT_FILES[1]]))
    except Exception as err:  # noqa: BLE001  (offline, no such repository, gated, ...)
        raise ConfigError(f"wav2vec2 checkpoint {checkpoint!r}: cannot fetch {repo!r} from the "
                          f"Hugging Face hub ({_one_line(err)}); offline, give a local "
                          f"directory ({_DIRECTORY_HINT})") from err
    return path


def read_json(path: Path, required: bool = True) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise ConfigError(f"{path.parent}: no {path.name} ({_DIRECTORY_HINT})")
        return {}
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read ({_one_line(err)})") from err
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return values


def weight_file(directory: Path) -> Path:
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ConfigError(f"{directory}: no weight file (looked for {', '.join(WEIGHT_FILES)})")


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``model.safetensors`` or ``pytorch_model.bin`` as NumPy arrays."""
    if path.name.endswith(".safetensors"):
        from safetensors.numpy import load_file

        try:
            return dict(load_file(str(path)))
        except Exception as err:  # noqa: BLE001  (truncated file, bfloat16 tensors...)
            raise ConfigError(f"{path}: cannot read ({_one_line(err)})") from err
    try:
        import torch
    except ImportError:
        raise ConfigError(f"{path}: reading {path.name} needs torch (pip install torch; "
                          "ser-keras does not install it), or convert it to "
                          "model.safetensors") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise ConfigError(f"{path}: cannot read ({_one_line(err)})") from err
    return {name: (tensor.detach().float() if tensor.is_floating_point()
                   else tensor.detach()).numpy() for name, tensor in state.items()}


def fingerprint(directory: Path) -> str:
    """sha256 of a checkpoint's config.json and weight file (what the numbers depend on)."""
    digest = hashlib.sha256()
    for file in (directory / CONFIG_FILE, weight_file(directory)):
        digest.update(file.name.encode())
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A resolved checkpoint: where it came from, its directory and its two config files."""

    source: str                      # as given: hf://owner/name or a path
    directory: Path
    config: Mapping[str, Any]        # config.json
    preprocessor: Mapping[str, Any]  # preprocessor_config.json ({} when it has none)

    def architecture(self, overrides: Mapping[str, Any] | None = None) -> Wav2Vec2Config:
        """config.json's architecture with ``overrides`` (config.json keys) over it."""
        return Wav2Vec2Config.from_hf({**self.config, **(overrides or {})},
                                      where=f"{self.source} config.json")

    @property
    def normalize(self) -> bool:
        """do_normalize of preprocessor_config.json; True without one (the feature
        extractor's default)."""
        value = self.preprocessor.get("do_normalize", True)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.source} {PREPROCESSOR_FILE}: do_normalize must be true "
                              f"or false, got {value!r}")
        return value

    @property
    def weight_file(self) -> Path:
        return weight_file(self.directory)

    def state_dict(self) -> dict[str, np.ndarray]:
        return read_state_dict(self.weight_file)

    def fingerprint(self) -> str:
        return fingerprint(self.directory)


def open_checkpoint(checkpoint: str) -> Checkpoint:
    """Resolve ``checkpoint`` and read its config files; the weight file must exist."""
    directory = resolve_checkpoint(checkpoint)
    config = read_json(directory / CONFIG_FILE)
    preprocessor = read_json(directory / PREPROCESSOR_FILE, required=False)
    rate = preprocessor.get("sampling_rate", SAMPLE_RATE)
    if rate != SAMPLE_RATE:
        raise ConfigError(f"{checkpoint} {PREPROCESSOR_FILE}: sampling_rate {rate}, but the "
                          f"store's raw audio is {SAMPLE_RATE} Hz")
    weight_file(directory)
    return Checkpoint(checkpoint, directory, config, preprocessor)


# --------------------------------------------------------------------------------------------
# Tensor names: Hugging Face (PyTorch layout) <-> Keras variables
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TensorMap:
    """One checkpoint tensor: its names (the first is the one written), the Keras variable
    and the layout that converts between them."""

    names: tuple[str, ...]
    variable: Any
    layout: str  # "conv" (out, in, k) <-> (k, in, out); "dense" (out, in) <-> (in, out);
    #              "vector" as it is; "weight_g" (1, 1, k) <-> (k,)

    def hf_shape(self) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.variable.shape)
        if self.layout in ("conv", "dense"):
            return shape[::-1]
        if self.layout == "weight_g":
            return (1, 1, *shape)
        return shape

    def to_keras(self, array: np.ndarray) -> np.ndarray:
        if self.layout in ("conv", "dense"):
            return np.transpose(array)
        return np.reshape(array, tuple(self.variable.shape))

    def to_hf(self, array: np.ndarray) -> np.ndarray:
        if self.layout in ("conv", "dense"):
            return np.ascontiguousarray(np.transpose(array))
        return np.reshape(array, self.hf_shape())


def _norm(names, layer) -> list[TensorMap]:
    weight, bias = names
    return [TensorMap((weight,), layer.gamma, "vector"), TensorMap((bias,), layer.beta, "vector")]


def _dense(name, layer) -> list[TensorMap]:
    return [TensorMap((f"{name}.weight",), layer.kernel, "dense"),
            TensorMap((f"{name}.bias",), layer.bias, "vector")]


def tensor_maps(backbone) -> list[TensorMap]:
    """Every variable of a ``Wav2Vec2Backbone`` with its Hugging Face (Wav2Vec2Model) name."""
    maps: list[TensorMap] = []
    encoder = backbone.feature_encoder
    for i, conv in enumerate(encoder.convs):
        name = f"feature_extractor.conv_layers.{i}"
        maps.append(TensorMap((f"{name}.conv.weight",), conv.kernel, "conv"))
        if conv.use_bias:
            maps.append(TensorMap((f"{name}.conv.bias",), conv.bias, "vector"))
    for i, norm in enumerate(encoder.norms):
        name = f"feature_extractor.conv_layers.{i}.layer_norm"
        maps += _norm((f"{name}.weight", f"{name}.bias"), norm)
    maps += _norm(("feature_projection.layer_norm.weight", "feature_projection.layer_norm.bias"),
                  backbone.feature_projection_norm)
    maps += _dense("feature_projection.projection", backbone.feature_projection)
    pos = backbone.pos_conv_embed
    maps += [TensorMap((f"{_POS_CONV}.parametrizations.weight.original1",
                        f"{_POS_CONV}.weight_v"), pos.weight_v, "conv"),
             TensorMap((f"{_POS_CONV}.parametrizations.weight.original0",
                        f"{_POS_CONV}.weight_g"), pos.weight_g, "weight_g"),
             TensorMap((f"{_POS_CONV}.bias",), pos.bias, "vector")]
    maps += _norm(("encoder.layer_norm.weight", "encoder.layer_norm.bias"), backbone.encoder_norm)
    for i, layer in enumerate(backbone.encoder_layers):
        name = f"encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            maps += _dense(f"{name}.attention.{proj}", getattr(layer.attention, proj))
        maps += _norm((f"{name}.layer_norm.weight", f"{name}.layer_norm.bias"), layer.layer_norm)
        maps += _dense(f"{name}.feed_forward.intermediate_dense", layer.intermediate_dense)
        maps += _dense(f"{name}.feed_forward.output_dense", layer.output_dense)
        maps += _norm((f"{name}.final_layer_norm.weight", f"{name}.final_layer_norm.bias"),
                      layer.final_layer_norm)
    return maps


def _fold_plain_pos_conv(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A positional conv saved without weight norm (``conv.weight``) as g and v (g = ||w||)."""
    plain = f"{_POS_CONV}.weight"
    if plain not in state:
        return state
    state = dict(state)
    weight = np.asarray(state.pop(plain))                                  # (out, in / g, k)
    state[f"{_POS_CONV}.weight_v"] = weight
    state[f"{_POS_CONV}.weight_g"] = np.sqrt(np.sum(np.square(weight), axis=(0, 1),
                                                    keepdims=True))        # (1, 1, k)
    return state


def _listed(names: list[str], limit: int = 6) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


def load_state_dict(backbone, state: Mapping[str, np.ndarray], where: str) -> None:
    """Assign a checkpoint's tensors to ``backbone``'s variables; all or nothing.

    Raises ``ConfigError`` naming a missing tensor, a tensor of the wrong shape (both shapes,
    in the checkpoint's layout) or a tensor of the backbone's namespace it does not use.
    """
    prefix = PREFIX if any(name.startswith(PREFIX) for name in state) else ""
    own = {name[len(prefix):]: value for name, value in state.items()
           if name.startswith(prefix)}
    own = _fold_plain_pos_conv(own)
    used, missing, assignments = set(), [], []
    for tensor in tensor_maps(backbone):
        found = next((n for n in tensor.names if n in own), None)
        if found is None:
            missing.append(prefix + tensor.names[0])
            continue
        array = np.asarray(own[found])
        if tuple(array.shape) != tensor.hf_shape():
            raise ConfigError(f"{where}: tensor {prefix + found} has shape {list(array.shape)}, "
                              f"but config.json's architecture needs "
                              f"{list(tensor.hf_shape())}")
        used.add(found)
        assignments.append((tensor.variable, tensor.to_keras(array)))
    if missing:
        raise ConfigError(f"{where}: missing tensor(s) {_listed(missing)} (is it a wav2vec 2.0 "
                          "checkpoint of the architecture its config.json describes?)")
    unused = sorted(prefix + n for n in own if n not in used and not n.startswith(IGNORED)
                    and not (prefix == "" and n.startswith(HEADS)))
    if unused:
        raise ConfigError(f"{where}: tensor(s) {_listed(unused)} are not part of the wav2vec "
                          "2.0 backbone config.json describes (another architecture, or "
                          "more layers than num_hidden_layers?)")
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype))


def export_state_dict(backbone, prefix: str = "") -> dict[str, np.ndarray]:
    """The backbone's variables under their Hugging Face names, in PyTorch layout (weight
    norm as ``parametrizations.weight.original0/1``, as torch >= 2.1 saves it)."""
    return {prefix + tensor.names[0]: tensor.to_hf(np.asarray(tensor.variable.numpy()))
            for tensor in tensor_maps(backbone)}


def save_checkpoint(backbone, directory, prefix: str = "") -> Path:
    """Write ``backbone`` as a Hugging Face checkpoint directory: config.json (architecture
    Wav2Vec2Model, or the prefix's Wav2Vec2ForPreTraining), preprocessor_config.json (its
    normalisation, 16 kHz) and model.safetensors."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**backbone.architecture.to_hf(),
              "architectures": ["Wav2Vec2ForPreTraining" if prefix else "Wav2Vec2Model"]}
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    preprocessor = {"do_normalize": backbone.normalize, "feature_size": 1,
                    "feature_extractor_type": "Wav2Vec2FeatureExtractor",
                    "padding_side": "right", "padding_value": 0.0,
                    "return_attention_mask": backbone.architecture.feat_extract_norm == "layer",
                    "sampling_rate": SAMPLE_RATE}
    (directory / PREPROCESSOR_FILE).write_text(json.dumps(preprocessor, indent=2))
    save_file(export_state_dict(backbone, prefix), str(directory / WEIGHT_FILES[0]),
              metadata={"format": "pt"})
    return directory


__all__ = ["CONFIG_FILE", "Checkpoint", "HUB", "PREFIX", "PREPROCESSOR_FILE", "TensorMap",
           "WEIGHT_FILES", "export_state_dict", "fingerprint", "load_state_dict",
           "open_checkpoint", "read_json", "read_state_dict", "resolve_checkpoint",
           "save_checkpoint", "tensor_maps", "weight_file"]
