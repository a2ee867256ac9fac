"""The synthetic demo corpus (data_prep.corpora.demo) on size "tiny": IEMOCAP layout and file
formats, determinism, audio format and emotion-dependent prosody.

The label and transcript files are parsed here with the test's own regexes (not with the
package's IEMOCAP adapter), so the generator is checked against the release's formats.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import wave
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from data_prep.corpora import demo

SIZE = "tiny"
SPEC = demo.SIZES[SIZE]
PER_SESSION = (SPEC["impro_per_session"] + SPEC["script_per_session"]) * SPEC["turns_per_dialog"]
CODES = {"neu", "hap", "sad", "ang", "exc", "fru", "fea", "sur", "dis", "oth", "xxx"}
CATEGORY = {"Neutral": "neu", "Happiness": "hap", "Sadness": "sad", "Anger": "ang",
            "Excited": "exc", "Frustration": "fru", "Fear": "fea", "Surprise": "sur",
            "Disgust": "dis", "Other": "oth"}

DIALOG_RE = re.compile(r"^Ses0([1-5])([FM])_(impro\d{2}[ab]?|script\d{2}_\d[b]?)$")
UTT = r"Ses0[1-5][FM]_(?:impro\d{2}[ab]?|script\d{2}_\d[b]?)_[FM]\d{3}"
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
BLOCK_RE = re.compile(
    r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(" + UTT + r")\t(\w{3})\t"
    r"\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$"
)
CAT_RE = re.compile(r"^C-E\d:\t((?:[A-Z][a-z]+; )*[A-Z][a-z]+;)\t\(.*\)$")
ATR_RE = re.compile(r"^A-E\d:\tval (\d); act (\d); dom  (\d);\t\(.*\)$")
LINE_RE = re.compile(r"^(\S+) \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.*)$")
UTT_LINE_RE = re.compile(r"^(" + UTT + r") \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.*)$")
TAG_RE = re.compile(r"\[[A-Z]+\]")


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read_wav(path: Path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        pcm = np.frombuffer(w.readframes(params.nframes), dtype="<i2")
    return params, pcm


def _parse_labels(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == HEADER and lines[1] == ""
    blocks, i = [], 2
    while i < len(lines) and lines[i]:
        m = BLOCK_RE.match(lines[i])
        assert m, f"{path.name}: bad block line {lines[i]!r}"
        cats = [CAT_RE.match(x) for x in lines[i + 1: i + 4]]
        atrs = [ATR_RE.match(x) for x in lines[i + 4: i + 6]]
        assert all(cats) and all(atrs), f"{path.name}: bad rater lines after {m.group(3)}"
        assert lines[i + 6] == "", f"{path.name}: no blank line after {m.group(3)}"
        blocks.append({
            "start": float(m.group(1)), "end": float(m.group(2)), "utt": m.group(3),
            "label": m.group(4), "vad": [float(m.group(k)) for k in (5, 6, 7)],
            "votes": [[CATEGORY[c.strip()] for c in c_m.group(1).split(";") if c.strip()]
                      for c_m in cats],
            "ratings": np.array([[int(g) for g in a_m.groups()] for a_m in atrs]),
        })
        i += 7
    assert all(x == "" for x in lines[i:]), f"{path.name}: trailing garbage"
    return blocks


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    a = demo.generate(base / "a", SIZE, seed=0)
    b = demo.generate(base / "b", SIZE, seed=0, workers=1)
    c = demo.generate(base / "c", SIZE, seed=1)
    return {"a": a, "b": b, "c": c, "base": base}


@pytest.fixture(scope="module")
def parsed(corpora):
    """Labels and transcripts of corpus "a", per dialog."""
    root = corpora["a"]
    out = {}
    for s in range(1, 6):
        emo = root / f"Session{s}" / "dialog" / "EmoEvaluation"
        for f in sorted(emo.glob("Ses*.txt")):
            lines = (root / f"Session{s}" / "dialog" / "transcriptions" / f.name).read_text(
                encoding="utf-8").splitlines()
            out[f.stem] = {"session": s, "blocks": _parse_labels(f), "transcript": lines}
    return out


def test_sizes_spec():
    for name, spec in demo.SIZES.items():
        per = (spec["impro_per_session"] + spec["script_per_session"]) * spec["turns_per_dialog"]
        assert spec["utterances"] == 5 * per
        specs = demo.dialog_specs(name)
        assert sum(d.n_turns for d in specs) == spec["utterances"]
    assert 50 <= demo.SIZES["tiny"]["utterances"] <= 70
    assert 400 <= demo.SIZES["small"]["utterances"] <= 500
    assert 1300 <= demo.SIZES["medium"]["utterances"] <= 1700
    with pytest.raises(ValueError):
        demo.generate("/nonexistent/never", "huge")


def test_top_level_layout(corpora):
    root = corpora["a"]
    assert (root / "README.txt").read_text(encoding="utf-8").strip()
    docs = [p for p in (root / "Documentation").iterdir() if p.is_file()]
    assert docs and all(p.stat().st_size > 0 for p in docs)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("Session")) == [
        f"Session{s}" for s in range(1, 6)]
    assert (root / demo.MARKER).is_file()


def test_dialogs_and_utterance_counts(corpora, parsed):
    root = corpora["a"]
    names = set(parsed)
    assert {"Ses03M_impro05a", "Ses03M_impro05b", "Ses05M_script01_1b"} <= names
    assert names == {d.name for d in demo.dialog_specs(SIZE)}
    per_session = Counter()
    for name, d in parsed.items():
        m = DIALOG_RE.match(name)
        assert m and int(m.group(1)) == d["session"]
        s = d["session"]
        assert (root / f"Session{s}" / "dialog" / "wav" / f"{name}.wav").is_file()
        assert (root / f"Session{s}" / "dialog" / "transcriptions" / f"{name}.txt").is_file()
        utts = [b["utt"] for b in d["blocks"]]
        assert all(u.startswith(name + "_") for u in utts) and len(set(utts)) == len(utts)
        # Both actors in every dialog; turns numbered 000, 001... per speaker.
        for letter in "FM":
            nums = sorted(int(u[-3:]) for u in utts if u[-4] == letter)
            assert nums == list(range(len(nums))) and nums, (name, letter)
        wav_dir = root / f"Session{s}" / "sentences" / "wav" / name
        wavs = sorted(p.stem for p in wav_dir.glob("*.wav"))
        assert wavs == sorted(utts)
        per_session[s] += len(utts)
    assert per_session == {s: PER_SESSION for s in range(1, 6)}
    assert sum(per_session.values()) == SPEC["utterances"]
    # Both impro and script dialogs in every session.
    for s in range(1, 6):
        kinds = {DIALOG_RE.match(n).group(3)[:5] for n, d in parsed.items() if d["session"] == s}
        assert kinds == {"impro", "scrip"}


def test_label_blocks(parsed):
    labels = Counter()
    for name, d in parsed.items():
        starts = [b["start"] for b in d["blocks"]]
        assert starts == sorted(starts)
        for b in d["blocks"]:
            assert b["label"] in CODES and 0 <= b["start"] < b["end"]
            labels[b["label"]] += 1
            votes = Counter(c for v in b["votes"] for c in v)
            if b["label"] == "xxx":
                assert max(votes.values()) < 2
            else:
                assert votes[b["label"]] >= 2 and max(votes.values()) == votes[b["label"]]
            assert np.allclose(b["ratings"].mean(axis=0), b["vad"])
            assert b["ratings"].min() >= 1 and b["ratings"].max() <= 5
    # 4-class codes in every session, the other codes somewhere.
    for s in range(1, 6):
        codes = {b["label"] for d in parsed.values() if d["session"] == s for b in d["blocks"]}
        assert {"neu", "ang", "sad", "hap"} <= codes, s
    assert {"exc", "fru", "sur", "fea", "xxx"} <= set(labels)
    assert labels["oth"] + labels["dis"] >= 1
    four = sum(labels[c] for c in ("neu", "ang", "sad", "hap", "exc"))
    assert four > 0.5 * sum(labels.values())


def test_evaluation_side_files(corpora, parsed):
    root = corpora["a"]
    junk = sorted(root.glob("Session*/dialog/EmoEvaluation/._*.txt"))
    assert len(junk) == 1 and junk[0].name[2:-4] in parsed
    with pytest.raises(UnicodeDecodeError):
        junk[0].read_bytes().decode("utf-8")
    for s in range(1, 6):
        emo = root / f"Session{s}" / "dialog" / "EmoEvaluation"
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            files = list((emo / sub).glob("*.txt"))
            assert files, (s, sub)
            assert not any(f.read_text(encoding="utf-8").startswith(HEADER) for f in files)


def test_transcripts(parsed):
    foreign, tag_only, tagged = 0, 0, 0
    for name, d in parsed.items():
        times = {b["utt"]: (b["start"], b["end"]) for b in d["blocks"]}
        seen, starts = {}, []
        for line in d["transcript"]:
            m = LINE_RE.match(line)
            assert m, f"{name}: bad transcript line {line!r}"
            starts.append(float(m.group(2)))
            u = UTT_LINE_RE.match(line)
            if u is None or u.group(1) not in times:
                foreign += 1
                continue
            seen[u.group(1)] = u.group(4)
            span = (float(u.group(2)), float(u.group(3)))
            assert span == pytest.approx(times[u.group(1)], abs=1e-4)
            text = u.group(4)
            tagged += bool(TAG_RE.search(text))
            tag_only += not TAG_RE.sub("", text).strip()
        assert set(seen) == set(times) and starts == sorted(starts)
    assert foreign >= 2 and tag_only >= 1 and tagged >= 1


def test_scripts_repeat_across_sessions(parsed):
    def texts(name):
        return [UTT_LINE_RE.match(x).group(4) for x in parsed[name]["transcript"]
                if UTT_LINE_RE.match(x)]

    by_part = defaultdict(list)
    for name in parsed:
        kind = DIALOG_RE.match(name).group(3)
        if kind.startswith("script"):
            by_part[kind.rstrip("b")].append(name)
    repeated = [names for names in by_part.values() if len(names) > 1]
    assert repeated
    for names in repeated:
        assert len({parsed[n]["session"] for n in names}) == len(names)
        assert all(texts(n) == texts(names[0]) for n in names)
    impro = [tuple(texts(n)) for n in parsed if "impro" in n]
    assert len(set(impro)) == len(impro)


def test_wav_format_and_energy(corpora, parsed):
    root = corpora["a"]
    for name, d in parsed.items():
        s = d["session"]
        params, dialog_pcm = _read_wav(root / f"Session{s}" / "dialog" / "wav" / f"{name}.wav")
        assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
        for b in d["blocks"]:
            wav = root / f"Session{s}" / "sentences" / "wav" / name / f"{b['utt']}.wav"
            params, pcm = _read_wav(wav)
            assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
            assert abs(len(pcm) / 16000 - (b["end"] - b["start"])) < 1e-3
            assert 0.8 < len(pcm) / 16000 < 5.0
            x = pcm.astype(np.float64) / 32768
            assert np.sqrt(np.mean(x ** 2)) > 0.005 and np.abs(x).max() > 0.05
            # A slice of the dialog recording (times have 4 decimals: +-2 samples).
            a = round(b["start"] * 16000)
            assert any(np.array_equal(pcm, dialog_pcm[k: k + len(pcm)])
                       for k in range(max(a - 2, 0), a + 3))


def test_prosody_follows_emotion(corpora, parsed):
    root = corpora["a"]
    rms = defaultdict(list)
    for name, d in parsed.items():
        for b in d["blocks"]:
            _, pcm = _read_wav(root / f"Session{d['session']}" / "sentences" / "wav" / name
                               / f"{b['utt']}.wav")
            x = pcm.astype(np.float64) / 32768
            frames = x[: len(x) // 400 * 400].reshape(-1, 400)
            energy = np.sqrt((frames ** 2).mean(axis=1))
            rms[b["label"]].append(energy[energy > 0.25 * energy.max()].mean())  # active speech
    mean = {k: float(np.mean(v)) for k, v in rms.items()}
    assert mean["ang"] > mean["neu"] > mean["sad"]
    assert np.mean(rms["hap"] + rms["exc"]) > mean["sad"]


def test_deterministic(corpora):
    a, b, c = (_hashes(corpora[k]) for k in "abc")
    assert a == b
    assert a.keys() != c.keys() or a != c
    differing = [k for k in a if k in c and a[k] != c[k] and k.endswith(".wav")]
    assert differing


def test_idempotent_and_regenerates(corpora):
    a = corpora["a"]
    marker = a / demo.MARKER
    before = marker.stat().st_mtime_ns
    wavs = {p: p.stat().st_mtime_ns for p in a.rglob("*.wav")}
    assert demo.generate(a, SIZE, seed=0) == a
    # a complete corpus is left as it is: nothing re-synthesised, nothing rewritten
    assert marker.stat().st_mtime_ns == before
    assert {p: p.stat().st_mtime_ns for p in a.rglob("*.wav")} == wavs

    # A partial corpus (interrupted: marker says incomplete, a stray file) is regenerated
    # cleanly; files the generator does not own survive.
    d = corpora["base"] / "d"
    shutil.copytree(a, d)
    info = json.loads((d / demo.MARKER).read_text(encoding="utf-8"))
    (d / demo.MARKER).write_text(json.dumps({**info, "complete": False}), encoding="utf-8")
    (d / "Session1" / "stray.txt").write_text("left over")
    (d / "keep.me").write_text("not ours")
    demo.generate(d, SIZE, seed=0)
    got = _hashes(d)
    assert got.pop("keep.me") and got == _hashes(a)

    # Another seed in the same root replaces the corpus.
    demo.generate(d, SIZE, seed=1)
    got = _hashes(d)
    got.pop("keep.me")
    assert got == _hashes(corpora["c"])


def test_refuses_foreign_directory(tmp_path):
    # A directory with corpus entries but no marker (e.g. the real release) is never deleted.
    (tmp_path / "Session1").mkdir()
    (tmp_path / "Session1" / "precious.txt").write_text("real data")
    with pytest.raises(FileExistsError):
        demo.generate(tmp_path, SIZE, seed=0)
    assert (tmp_path / "Session1" / "precious.txt").read_text() == "real data"
