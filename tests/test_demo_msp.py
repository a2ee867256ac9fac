"""The demo corpus in the MSP-Podcast layout (``ser-prepare demo --layout msp-podcast``) on
size "tiny": the release's files as the MSP-Podcast adapter reads them, prepared by that adapter
into the store corpus ``demo-msp``; speaker-disjoint official splits, four-class labels, V/A/D
on 1-7, transcripts, ids and utterances distinct from the IEMOCAP-layout demo's, idempotence.

The label file is parsed here with the csv module (not with the adapter), so the generator is
checked against the release's format, and the store against the generator.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import wave
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from data_prep import cli
from data_prep.corpora import demo, msp_podcast
from ser_keras import store

SIZE = "tiny"
N = demo.SIZES[SIZE]["utterances"]
FEATURES = "logmel64,bert_mean"
HEADER = ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"]
STEM = r"MSP-PODCAST_\d{4}_\d{4}"


def _args(out, tiny_bert, *extra):
    return ["demo", "--layout", "msp-podcast", "--size", SIZE, "--out", str(out),
            "--features", FEATURES, "--text-encoder", str(tiny_bert), "--quiet",
            "--workers", "1", *extra]


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def run(tiny_bert, tmp_path_factory):
    """The command run once (module scope); returns (store root, its console output)."""
    out = tmp_path_factory.mktemp("store")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli.main(_args(out, tiny_bert)) == 0
    return out, buffer.getvalue()


@pytest.fixture(scope="module")
def source(run):
    return run[0] / "sources" / f"demo-msp-{SIZE}-seed0"


@pytest.fixture(scope="module")
def labels(source):
    with open(source / "Labels" / "labels_consensus.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def rows(run):
    return store.read_manifest(store.manifest_path(run[0], "demo-msp"))


def test_prepared_by_the_msp_podcast_adapter_into_demo_msp(run, rows, source):
    out, printed = run
    assert f"demo-msp: {N} of {N} utterances usable" in printed
    assert f"store: {out / 'demo-msp'}" in printed
    assert "transcripts: release" in printed
    assert len(rows) == N and {r["corpus"] for r in rows} == {"demo-msp"}
    assert {r["status"] for r in rows} == {"ok"}
    # the adapter's reading: Audios/<FileName>, whole files, EmoClass letters, MSP splits
    assert all(Path(r["audio_path"]).parent == source / "Audios" for r in rows)
    assert all(r["start_s"] == "" and r["session"] == "" for r in rows)
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
    assert {r["label"] for r in rows} <= msp_podcast.EMO_CLASSES
    report = json.loads((out / "demo-msp" / "prepare_report.json").read_text())
    assert report["corpus"] == "demo-msp" and report["problems"] == []
    assert report["transcripts"]["source"] == "release"
    assert report["transcripts"]["with_text"] == N
    for name, dim in (("logmel64", 64), ("bert_mean", 8)):
        fs = store.open_feature_set(out, "demo-msp", name, expect={"dim": dim})
        assert len(fs.utt_ids) == N


def test_release_layout_and_format(source, labels):
    assert (source / "README.txt").read_text(encoding="utf-8").startswith(
        "MSP-Podcast-layout demo corpus (synthetic)")
    assert sorted(p.name for p in source.iterdir() if not p.name.startswith(".")) == [
        "Audios", "Labels", "README.txt", "Transcripts"]
    names = [r["FileName"] for r in labels]
    assert len(names) == N and names == sorted(names) and len(set(names)) == N
    assert all(re.fullmatch(STEM + r"\.wav", n) for n in names)
    assert sorted(p.name for p in (source / "Audios").iterdir()) == names
    assert sorted(p.name for p in (source / "Transcripts").iterdir()) == sorted(
        n[:-4] + ".txt" for n in names)
    assert {r["Split_Set"] for r in labels} == {"Train", "Development", "Test1"}
    assert {r["Gender"] for r in labels} == {"Female", "Male"}
    assert all(r["SpkrID"].isdigit() for r in labels)
    # every class letter of the release, the four main ones the bulk
    counts = Counter(r["EmoClass"] for r in labels)
    assert set(counts) <= set(demo.MSP_CLASS_ORDER)
    assert sum(counts[c] for c in "AHNS") > 0.5 * N
    with wave.open(str(source / "Audios" / names[0]), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)


def test_official_splits_are_speaker_disjoint_with_four_classes(rows):
    speakers = defaultdict(set)
    classes = defaultdict(set)
    genders = defaultdict(set)
    for r in rows:
        assert r["speaker"], r["utt_id"]          # every demo speaker is known
        speakers[r["split"]].add(r["speaker"])
        classes[r["split"]].add(r["label"])
        genders[r["split"]].add(r["gender"])
    assert all(g == {"F", "M"} for g in genders.values()), genders
    assert len({s for group in speakers.values() for s in group}) == 10
    splits = sorted(speakers)
    for i, a in enumerate(splits):
        assert len(speakers[a]) >= 2
        for b in splits[i + 1:]:
            assert not speakers[a] & speakers[b], (a, b)
    for split in splits:
        assert {"A", "H", "N", "S"} <= classes[split], split
    share = Counter(r["split"] for r in rows)
    assert 0.5 <= share["train"] / N <= 0.7
    assert 0.1 <= share["validation"] / N <= 0.25
    assert 0.15 <= share["test"] / N <= 0.3


def test_dimensions_on_the_1_to_7_scale(rows, labels):
    values = np.array([[float(r[k]) for k in ("valence", "arousal", "dominance")]
                       for r in rows])
    assert values.min() >= 1 and values.max() <= 7
    assert values.max() > 5                      # not the demo's 1-5 values left as they were
    # linear map of the demo's 1-5 means of two raters (steps of 0.5 -> 0.75)
    steps = (values - 1) / 0.75
    assert np.allclose(steps, np.round(steps))
    by_name = {r["FileName"][:-4]: r for r in labels}
    for r in rows:  # EmoVal -> valence, EmoAct -> arousal, EmoDom -> dominance
        release = by_name[r["utt_id"]]
        assert [float(r[k]) for k in ("valence", "arousal", "dominance")] == [
            float(release[k]) for k in ("EmoVal", "EmoAct", "EmoDom")]
    assert demo.to_msp_scale(1) == 1 and demo.to_msp_scale(3) == 4 and demo.to_msp_scale(5) == 7


def test_transcripts_are_the_demo_transcripts(rows, source):
    assert all(r["text"] for r in rows)
    for r in rows[:5]:
        raw = (source / "Transcripts" / f"{r['utt_id']}.txt").read_text(encoding="utf-8")
        assert " ".join(raw.split()) == r["text"]
    # the utterances planned with seed + MSP_SEED_OFFSET, in podcast/segment order
    planned = [t["text"] for s in demo._plan(SIZE, demo.MSP_SEED_OFFSET)
               for d in s["dialogs"] for t in d["turns"]]
    assert [r["text"] for r in rows] == [" ".join(t.split()) for t in planned]


def test_ids_and_utterances_distinct_from_the_iemocap_demo(rows):
    iemocap = demo._plan(SIZE, 0)
    iemocap_ids = {t["utt"] for s in iemocap for d in s["dialogs"] for t in d["turns"]}
    assert len(iemocap_ids) == N
    assert not iemocap_ids & {r["utt_id"] for r in rows}
    iemocap_texts = [t["text"] for s in iemocap for d in s["dialogs"] for t in d["turns"]]
    assert iemocap_texts != [r["text"] for r in rows]


def test_rerun_is_idempotent(run, source, tiny_bert, capsys):
    out, _ = run
    marker = source / demo.MARKER
    # nothing re-synthesised, no shard re-extracted (each set's metadata.json is rewritten)
    files = {p: p.stat().st_mtime_ns for p in list(source.rglob("*")) + list(
        (out / "demo-msp" / "features").rglob("shard-*")) if p.is_file()}
    manifest = store.manifest_path(out, "demo-msp").read_bytes()
    assert cli.main(_args(out, tiny_bert)) == 0
    assert f"demo-msp: {N} of {N} utterances usable" in capsys.readouterr().out
    assert store.manifest_path(out, "demo-msp").read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in files} == files
    assert json.loads(marker.read_text())["layout"] == "msp-podcast"


def test_generation_is_deterministic_and_guards_foreign_trees(source, tmp_path):
    again = demo.generate(tmp_path / "again", SIZE, seed=0, workers=1, layout="msp-podcast")
    assert _hashes(again) == _hashes(source)
    # a directory holding MSP-Podcast entries without the generator's marker is never deleted
    real = tmp_path / "real"
    (real / "Labels").mkdir(parents=True)
    (real / "Labels" / "labels_consensus.csv").write_text("precious")
    with pytest.raises(FileExistsError):
        demo.generate(real, SIZE, seed=0, layout="msp-podcast")
    assert (real / "Labels" / "labels_consensus.csv").read_text() == "precious"
    with pytest.raises(ValueError, match="layout"):
        demo.generate(tmp_path / "x", SIZE, layout="meld")


def test_switching_layout_in_one_root_leaves_one_corpus(tmp_path):
    root = tmp_path / "root"
    demo.generate(root, SIZE, seed=0, workers=1)
    assert (root / "Session1").is_dir()
    demo.generate(root, SIZE, seed=0, workers=1, layout="msp-podcast")
    assert not any(root.glob("Session*")) and not (root / "Documentation").exists()
    assert len(list((root / "Audios").glob("*.wav"))) == N
    demo.generate(root, SIZE, seed=0, workers=1)          # and back: a complete IEMOCAP tree
    assert not (root / "Audios").exists() and (root / "Session5").is_dir()
    assert "layout" not in json.loads((root / demo.MARKER).read_text())
