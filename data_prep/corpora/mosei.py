"""CMU-MOSEI adapter: ``ser-prepare mosei /path/to/CMU-MOSEI``.

Needs, under the source folder (paths of the CMU Multimodal SDK release; the raw-data paths
are UNVERIFIED against a real copy, see CORPORA.md):
- ``CMU_MOSEI_Labels.csd`` (the source folder or any folder below it): the SDK's HDF5
  computational sequence ``All Labels``: ``<root>/data/<video>/intervals`` (n, 2) seconds and
  ``<root>/data/<video>/features`` (n, 7) = [sentiment -3..3, happy, sad, anger, surprise,
  disgust, fear 0..3]. One manifest row per labelled segment.
- full-video wavs ``Raw/Audio/Full/WAV_16000/<video>.wav`` (also accepted without ``Raw/``);
  the rows cut them with ``start_s``/``end_s`` = the label interval.
- segmented transcripts ``Raw/Transcript/Segmented/Combined/<video>.txt`` (also without
  ``Raw/``), lines ``<video>___<segment>___<start>___<end>___<text>``; optional.
- the standard folds: a copy of the SDK's ``cmu_mosei_std_folds.py`` (lists
  ``standard_train_fold``, ``standard_valid_fold``, ``standard_test_fold`` of video ids) in
  the source folder (any depth up to 3), or else the file of an installed SDK (``mmsdk``
  package, located without importing it). The lists are long (2,250 / 300 / 678 videos), so
  they are not shipped here; without them every split is "" and a problem line says so.
  The file is parsed as text (regular expressions), never executed.

Written to the manifest:
- ``utt_id`` ``<video>_<segment>`` with the transcript's segment number when a transcript line
  has the same interval (within 0.05 s), else ``<video>_t<start in ms>``; ``dialog`` = video.
- ``label``: single-label reduction of the six emotion scores (ho2020 does not say how it
  reduced them): the emotion with the largest score among those > 0; ties broken by the
  order happy, sad, anger, surprise, disgust, fear (the .csd column order); a segment with no
  score > 0 gets ``none`` (status stays ``ok``; protocols choose the classes they use).
- ``scores``: the six emotion intensities 0..3 as they are (``happy=1;sad=0.333333;anger=0;
  surprise=0;disgust=0;fear=0``, .csd order): regression targets (``targets: [happy, sad,
  anger, surprise, disgust, fear]``, ho2020 Table 7's MAE) and other readings of "six
  emotions" (ser_keras.reporting.corpus) use them; the single label above is one reading.
- ``valence``: the sentiment score (-3..3, not the 1-7 scale of other corpora);
  arousal/dominance empty. ``speaker``/``gender``: empty (MOSEI gives no speaker ids; one
  speaker per video in practice, the video id is in ``dialog``).
- ``split``: train / validation / test from the standard folds.
- A wav that no label names still gets a row (status ``no_row``, whole file).
"""
from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import numpy as np

from data_prep.corpora.common import ScanResult, source_directory
from data_prep.errors import SourceError
from ser_keras.store import format_scores, parse_scores

NAME = "mosei"
LABEL_FILE = "CMU_MOSEI_Labels.csd"
FOLDS_FILE = "cmu_mosei_std_folds.py"
SDK_FOLDS = ("mmdatasdk", "dataset", "standard_datasets", "CMU_MOSEI", FOLDS_FILE)
EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")   # .csd columns 1..6
NO_EMOTION = "none"
WAV_DIRS = ("Raw/Audio/Full/WAV_16000", "Audio/Full/WAV_16000")
TRANSCRIPT_DIRS = ("Raw/Transcript/Segmented/Combined", "Transcript/Segmented/Combined")
FOLD_LIST = re.compile(r"^standard_(?P<fold>train|valid|test)_fold\s*=\s*\[(?P<ids>[^\]]*)\]",
                       re.MULTILINE)
QUOTED = re.compile(r"""['"](?P<id>[^'"]+)['"]""")
FOLD_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
TRANSCRIPT_LINE = re.compile(
    r"^(?P<video>.+?)___(?P<segment>\d+)___(?P<start>-?\d+(?:\.\d+)?)___"
    r"(?P<end>-?\d+(?:\.\d+)?)___(?P<text>.*)$")
TIME_TOLERANCE_S = 0.05


def validate_source(source: Path) -> Path:
    """The label computational sequence of a MOSEI copy, or SourceError."""
    source = source_directory(source)
    for depth in range(4):
        found = sorted(source.glob("/".join(["*"] * depth + [LABEL_FILE])))
        if found:
            return found[0]
    raise SourceError(f"{source}: not a CMU-MOSEI copy (no {LABEL_FILE} from the CMU "
                      "Multimodal SDK found)")


def reduce_emotions(scores) -> str:
    """Single label of six emotion scores: strongest > 0, ties in EMOTIONS order, else none."""
    best, best_score = NO_EMOTION, 0.0
    for name, score in zip(EMOTIONS, scores):
        if score > best_score:
            best, best_score = name, float(score)
    return best


def find_folds_file(source: Path) -> Path | None:
    for depth in range(4):
        found = sorted(source.glob("/".join(["*"] * depth + [FOLDS_FILE])))
        if found:
            return found[0]
    try:
        spec = importlib.util.find_spec("mmsdk")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location).joinpath(*SDK_FOLDS)
        if candidate.is_file():
            return candidate
    return None


def read_folds(path: Path, problems: list[str]) -> dict[str, str]:
    """video id -> split, from the three lists of the SDK's fold file (parsed, not executed)."""
    folds: dict[str, str] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    seen = set()
    for match in FOLD_LIST.finditer(text):
        seen.add(match["fold"])
        for video in QUOTED.findall(match["ids"]):
            split = FOLD_SPLITS[match["fold"]]
            if folds.setdefault(video, split) != split:
                problems.append(f"{path}: video {video} is in two folds; kept {folds[video]}")
    for fold in sorted(set(FOLD_SPLITS) - seen):
        problems.append(f"{path}: no standard_{fold}_fold list")
    return folds


def read_labels(path: Path, problems: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """video -> (intervals (n, 2), features (n, 7)) of the label computational sequence."""
    import h5py

    labels: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with h5py.File(path, "r") as h5:
            roots = [k for k in h5 if isinstance(h5[k], h5py.Group) and "data" in h5[k]]
            if not roots:
                raise SourceError(f"{path}: not a computational sequence (no <root>/data group)")
            root = "All Labels" if "All Labels" in roots else roots[0]
            for video, group in h5[root]["data"].items():
                try:
                    intervals = np.asarray(group["intervals"][()], dtype=float)
                    features = np.asarray(group["features"][()], dtype=float)
                except KeyError:
                    problems.append(f"{path}: {root}/data/{video} lacks intervals or features")
                    continue
                if (intervals.ndim != 2 or intervals.shape[1] != 2 or features.ndim != 2
                        or features.shape[1] != 7 or len(intervals) != len(features)):
                    problems.append(f"{path}: {root}/data/{video}: intervals {intervals.shape} "
                                    f"and features {features.shape} do not match (n,2)/(n,7)")
                    continue
                labels[video] = (intervals, features)
    except OSError as err:
        raise SourceError(f"{path}: cannot read the label file ({err})") from err
    return labels


def read_transcript(path: Path, problems: list[str]) -> list[tuple[str, float, float, str]]:
    """(segment, start, end, text) of one segmented transcript."""
    segments = []
    for number, line in enumerate(path.read_text(encoding="utf-8",
                                                 errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        match = TRANSCRIPT_LINE.match(line.strip())
        if not match:
            problems.append(f"{path}:{number}: malformed transcript line: {line.strip()[:80]}")
            continue
        segments.append((match["segment"], float(match["start"]), float(match["end"]),
                         " ".join(match["text"].split())))
    return segments


def _first_dir(source: Path, candidates: tuple[str, ...]) -> Path:
    for candidate in candidates:
        if (source / candidate).is_dir():
            return source / candidate
    return source / candidates[0]


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every labelled segment and every wav."""
    source = Path(source).resolve()
    label_path = validate_source(source)
    problems: list[str] = []
    labels = read_labels(label_path, problems)
    folds_path = find_folds_file(source)
    folds: dict[str, str] = {}
    if folds_path is None:
        problems.append(f"{source}: no {FOLDS_FILE} (copy it from the CMU Multimodal SDK, "
                        "mmsdk/mmdatasdk/dataset/standard_datasets/CMU_MOSEI/, into the source "
                        "folder, or install the SDK): splits left empty")
    else:
        folds = read_folds(folds_path, problems)
    wav_dir = _first_dir(source, WAV_DIRS)
    transcript_dir = _first_dir(source, TRANSCRIPT_DIRS)
    for folder, what in ((wav_dir, "full-video wav"), (transcript_dir, "transcript")):
        if not folder.is_dir():
            problems.append(f"{folder}: {what} folder missing")
    wavs = {p.stem: p for p in sorted(wav_dir.glob("*.wav")) if not p.name.startswith(".")} \
        if wav_dir.is_dir() else {}
    rows: dict[str, dict] = {}
    for video in sorted(labels):
        intervals, features = labels[video]
        wav = wavs.get(video, wav_dir / f"{video}.wav")
        transcript = transcript_dir / f"{video}.txt"
        segments = read_transcript(transcript, problems) if transcript.is_file() else []
        split = folds.get(video, "")
        if folds and not split:
            problems.append(f"{label_path}: video {video} is in no standard fold")
        if video not in wavs:
            problems.append(f"{wav}: full-video wav missing ({len(intervals)} segments)")
        for k in np.argsort(intervals[:, 0], kind="stable"):
            start, end = (float(v) for v in intervals[k])
            values = features[k]
            match = next((s for s in segments if abs(s[1] - start) <= TIME_TOLERANCE_S
                          and abs(s[2] - end) <= TIME_TOLERANCE_S), None)
            utt_id = (f"{video}_{match[0]}" if match
                      else f"{video}_t{int(round(start * 1000))}")
            if utt_id in rows:
                problems.append(f"{label_path}: {video} interval [{start:.3f}, {end:.3f}] "
                                f"duplicates {utt_id}; kept the first")
                continue
            row = {
                "utt_id": utt_id, "corpus": corpus, "audio_path": str(wav), "start_s": start,
                "end_s": end, "speaker": "", "gender": "", "session": "", "dialog": video,
                "scenario": "", "text": match[3] if match else "", "label": "",
                "valence": None, "arousal": None, "dominance": None, "split": split,
                "status": "ok",
            }
            if not all(math.isfinite(v) for v in values) or not end > start:
                row["status"] = "no_label"
                problems.append(f"{label_path}: {video} interval [{start}, {end}] has a "
                                "non-finite score or an empty interval")
            else:
                row["valence"] = float(values[0])
                row["scores"] = format_scores(zip(EMOTIONS, values[1:]))
                # the label of the scores as written (a score that rounds to 0 is no emotion)
                row["label"] = reduce_emotions(parse_scores(row["scores"]).values())
            if video not in wavs:
                row["status"] = "missing_audio"
            rows[utt_id] = row
    for video in sorted(set(wavs) - set(labels)):
        problems.append(f"{wavs[video]}: wav named by no video of {label_path.name}")
        rows[video] = {
            "utt_id": video, "corpus": corpus, "audio_path": str(wavs[video]), "start_s": None,
            "end_s": None, "speaker": "", "gender": "", "session": "", "dialog": video,
            "scenario": "", "text": "", "label": "", "valence": None, "arousal": None,
            "dominance": None, "split": folds.get(video, ""), "status": "no_row"}
    return ScanResult(rows=[rows[k] for k in sorted(rows)], problems=problems)
