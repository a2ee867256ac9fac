"""Noise augmentation at stage 1: augmented copies of utterances as extra manifest rows.

    ser-prepare ravdess /data/RAVDESS --augment noise                 # 1 copy at 20 dB SNR
    ser-prepare ravdess /data/RAVDESS --augment noise:snr=10,copies=3

kakuba2023 Sec. III-D: "we carefully apply data augmentation by adding noise to the acoustic
data and then extracting the MFCCs and mel spectrograms from the noisy data". The paper names
no noise type, SNR or number of copies; the choices here (white Gaussian noise, 20 dB, one copy)
are ours and are written into every copy's manifest row and into ``prepare_report.json``.

A copy is a manifest row ``<source>~noise<k>`` (k = 1..copies) with every column of its source
(label, speaker, session, text, audio path, ...) plus ``source_id`` (the source utt_id) and
``augmentation`` (``noise:snr=20:k=1``). The feature workers decode the source's audio, add the
copy's noise (:func:`add_noise`, seeded by :func:`rng_for` from the copy's utt_id, so a re-run
draws the same noise in any process) and extract every requested set from the noisy signal.
Stage 2 keeps copies with their source (``ser_keras.data.augmented``): a copy only ever enlarges
the training part of a fold whose source is in training.

``~`` separates source and copy: no adapter makes utt_ids with it (IEMOCAP, MELD, MOSEI,
MSP-Podcast ids are made of letters, digits, ``_`` and ``-``; the file-stem corpora's stems
follow their naming schemes), and a clash with an existing utt_id is an error, not a silent
overwrite.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from typing import Iterable

import numpy as np

from data_prep.errors import PrepareError

SEPARATOR = "~"
KINDS = ("noise",)
# Paper silent on the SNR: 20 dB adds audible but mild noise (the noise RMS is a tenth of the
# speech RMS), in the middle of the 10-30 dB range SER augmentation studies use, so that the
# copies stay recognisably the same emotion while the features move.
DEFAULT_SNR_DB = 20.0
# Paper silent on the count: one copy doubles the training set, the common "original + noisy"
# practice; more copies are an option, not the default.
DEFAULT_COPIES = 1
MAX_COPIES = 100

_SPEC = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<options>.*))?$")
_OPTION = re.compile(r"^(?P<key>[a-z_]+)=(?P<value>[^=,]+)$")


class AugmentError(PrepareError):
    """A bad ``--augment`` spec, or copies that cannot be made (one-line message)."""


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """One augmentation recipe: ``copies`` noisy copies per utterance at ``snr_db`` dB SNR."""

    kind: str = "noise"
    snr_db: float = DEFAULT_SNR_DB
    copies: int = DEFAULT_COPIES

    def __str__(self) -> str:  # the canonical spec: what parse_spec reads back
        return f"{self.kind}:snr={_number(self.snr_db)},copies={self.copies}"

    def copy_id(self, source_id: str, k: int) -> str:
        return f"{source_id}{SEPARATOR}{self.kind}{k}"

    def label(self, k: int) -> str:
        """The manifest ``augmentation`` cell of copy ``k``: everything that made its signal."""
        return f"{self.kind}:snr={_number(self.snr_db)}:k={k}"

    def to_dict(self) -> dict:
        return {"spec": str(self), "kind": self.kind, "snr_db": self.snr_db,
                "copies": self.copies, "noise": "white Gaussian", "seed": "sha256(copy utt_id)"}


def _number(value: float) -> str:
    return f"{value:g}"


def parse_spec(spec: str | Augmentation | None) -> Augmentation | None:
    """``noise``, ``noise:snr=20``, ``noise:snr=15,copies=2`` -> :class:`Augmentation`.

    None or "" (or ``none``) -> None. Bad specs raise :class:`AugmentError` with one line that
    says what is wrong and what is accepted.
    """
    if spec is None or isinstance(spec, Augmentation):
        return spec
    text = spec.strip()
    if text in ("", "none"):
        return None
    usage = "expected noise[:snr=<dB>,copies=<n>], e.g. noise:snr=20,copies=2"
    match = _SPEC.match(text)
    if not match:
        raise AugmentError(f"augmentation {spec!r}: {usage}")
    if match["kind"] not in KINDS:
        raise AugmentError(f"augmentation {spec!r}: unknown kind {match['kind']!r}; known: "
                           f"{', '.join(KINDS)}")
    values: dict[str, str] = {}
    if match["options"] is not None:
        for item in match["options"].split(","):
            option = _OPTION.match(item.strip())
            if not option:
                raise AugmentError(f"augmentation {spec!r}: option {item!r} is not key=value; "
                                   f"{usage}")
            key = option["key"]
            if key not in ("snr", "copies"):
                raise AugmentError(f"augmentation {spec!r}: unknown option {key!r}; known: "
                                   f"snr, copies")
            if key in values:
                raise AugmentError(f"augmentation {spec!r}: option {key!r} given twice")
            values[key] = option["value"].strip()
    snr = DEFAULT_SNR_DB
    if "snr" in values:
        try:
            snr = float(values["snr"].removesuffix("dB"))
        except ValueError:
            snr = math.nan
        if not math.isfinite(snr):
            raise AugmentError(f"augmentation {spec!r}: snr must be a finite number of dB, "
                               f"got {values['snr']!r}")
    copies = DEFAULT_COPIES
    if "copies" in values:
        try:
            copies = int(values["copies"])
        except ValueError:
            copies = 0
        if not 1 <= copies <= MAX_COPIES:
            raise AugmentError(f"augmentation {spec!r}: copies must be an integer from 1 to "
                               f"{MAX_COPIES}, got {values['copies']!r}")
    return Augmentation(match["kind"], snr, copies)


# --------------------------------------------------------------------------------------------
# Signal
# --------------------------------------------------------------------------------------------
def rng_for(utt_id: str) -> np.random.Generator:
    """The copy's own generator: seeded by sha256 of its utt_id (stable across processes and
    runs, unlike Python's ``hash``)."""
    digest = hashlib.sha256(utt_id.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def add_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator,
              clip: bool = True) -> np.ndarray:
    """``signal`` plus white Gaussian noise at ``snr_db`` dB below the signal's own power.

    Noise power = mean(signal**2) / 10**(snr_db / 10), with the noise scaled so that its
    realised power is exactly that (the SNR holds for short signals too, not only on average).
    ``clip`` keeps the result in [-1, 1], the range every extractor receives (load_audio's
    contract); at 20 dB it only touches signals that already peak near full scale. A signal
    without power (all zeros) is returned unchanged: there is no level to set the noise by.
    """
    x = np.asarray(signal, dtype=np.float32)
    power = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    if power == 0.0:
        return x.copy()
    noise = rng.standard_normal(x.shape)
    noise *= math.sqrt(power / 10 ** (snr_db / 10) / float(np.mean(np.square(noise))))
    noisy = (x + noise).astype(np.float32)
    return np.clip(noisy, -1.0, 1.0) if clip else noisy


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """The SNR of ``noisy`` against ``clean`` in dB (for checks and tests)."""
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noisy, dtype=np.float64) - clean
    return 10 * math.log10(np.mean(clean ** 2) / np.mean(noise ** 2))


# --------------------------------------------------------------------------------------------
# Manifest rows
# --------------------------------------------------------------------------------------------
def is_copy(row: dict) -> bool:
    return bool(row.get("source_id"))


def copies_of(rows: Iterable[dict], spec: str | Augmentation | None,
              usable_status: str = "ok") -> list[dict]:
    """The copy rows of every usable original in ``rows`` (sorted by utt_id, k = 1..copies).

    A row whose status is not ``usable_status`` gets no copy, nor does a row that is itself a
    copy. Each copy repeats every column of its source and adds ``source_id`` and
    ``augmentation``; the result depends on the rows and the spec only, so a re-run writes the
    same manifest. A copy id that is already an utt_id raises :class:`AugmentError`.
    """
    augmentation = parse_spec(spec)
    rows = list(rows)
    if augmentation is None:
        return []
    existing = {r["utt_id"] for r in rows}
    copies = []
    for row in sorted(rows, key=lambda r: r["utt_id"]):
        if row.get("status") != usable_status or is_copy(row):
            continue
        for k in range(1, augmentation.copies + 1):
            copy_id = augmentation.copy_id(row["utt_id"], k)
            if copy_id in existing:
                raise AugmentError(f"augmented copy {copy_id} of {row['utt_id']} clashes with "
                                   f"an utterance of the corpus of that id")
            copies.append(dict(row, utt_id=copy_id, source_id=row["utt_id"],
                               augmentation=augmentation.label(k)))
    return copies


def parse_label(label: str) -> tuple[Augmentation, int]:
    """A manifest ``augmentation`` cell (``noise:snr=20:k=1``) -> (recipe, k)."""
    match = re.fullmatch(r"(?P<kind>[a-z]+):snr=(?P<snr>[^:]+):k=(?P<k>\d+)", label or "")
    if not match or match["kind"] not in KINDS:
        raise AugmentError(f"manifest augmentation {label!r} is not <kind>:snr=<dB>:k=<n>")
    return Augmentation(match["kind"], float(match["snr"])), int(match["k"])
