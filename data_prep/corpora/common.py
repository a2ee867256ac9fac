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
    """The ``.wav`` files directly in ``folder``; macOS ``._*.wav`` junk is reported, not kept."""
    wavs = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() != ".wav":
            continue
        if path.name.startswith("._"):
            problems.append(f"{path}: macOS resource-fork file, not audio; ignored")
        elif not path.name.startswith("."):
            wavs.append(path)
    return wavs
