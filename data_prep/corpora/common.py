"""What every corpus adapter shares: the scan result and the listing of a folder's wavs.

An adapter module has ``NAME``, ``validate_source(source)`` (raises ``SourceError`` naming the
path) and ``scan(source, corpus=NAME) -> ScanResult``: one manifest row per utterance of the
release, each with a status, and one line per problem naming the file.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass
class ScanResult:
    rows: list[dict]
    problems: list[str]          # one line each, naming the file


def wav_files(folder: Path, problems: list[str]) -> list[Path]:
    """The ``.wav`` files directly in ``folder``; macOS ``._*.wav`` junk and folders named
    like a wav are reported, not kept."""
    wavs = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".wav":
            continue
        if not path.is_file():
            problems.append(f"{path}: a directory (or not a regular file) named like an audio "
                            "file; ignored")
            continue
        if path.name.startswith("._"):
            problems.append(f"{path}: macOS resource-fork file, not audio; ignored")
        elif not path.name.startswith("."):
            wavs.append(path)
    return wavs


def source_directory(source) -> Path:
    """``source`` as a Path, or SourceError when it is missing or not a directory."""
    from data_prep.errors import SourceError

    source = Path(source)
    if not source.exists():
        raise SourceError(f"{source}: no such directory")
    if not source.is_dir():
        raise SourceError(f"{source}: not a directory")
    return source


def file_row(wav: Path, corpus: str, scenario: str) -> dict:
    """A manifest row for one audio file, every field not known from the path left empty."""
    return {
        "utt_id": wav.stem, "corpus": corpus, "audio_path": str(wav),
        "start_s": None, "end_s": None, "speaker": "", "gender": "", "session": "",
        "dialog": "", "scenario": scenario, "text": "", "label": "",
        "valence": None, "arousal": None, "dominance": None, "split": "", "status": "ok",
    }


def folder_with_named_wavs(source: Path, subfolder: str, pattern) -> Path | None:
    """``source/subfolder`` or ``source`` itself, whichever holds a wav whose stem matches
    ``pattern`` (releases are unpacked with or without their top folder); None if neither."""
    for folder in (source / subfolder, source):
        if folder.is_dir() and any(pattern.match(p.stem) for p in folder.glob("*.wav")):
            return folder
    return None
