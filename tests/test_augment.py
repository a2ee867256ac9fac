"""Noise augmentation (kakuba2023 Sec. III-D): the spec, the noise, the copy rows, a prepare
with copies on the miniature IEMOCAP release (re-run, changed spec), and the stage-2 rule that
a copy never crosses from validation/test into training."""
import collections
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from data_prep import cli
from data_prep.augment import (Augmentation, AugmentError, add_noise, copies_of, parse_spec,
                               rng_for, snr_db)
from ser_keras import store
from ser_keras.data import augmented
from ser_keras.data.protocols import make_folds
from ser_keras.errors import ProtocolError

USABLE = ["Ses01F_impro01_F000", "Ses01F_impro01_F001", "Ses01F_impro01_M000",
          "Ses02M_script01_1b_F000", "Ses03M_impro05a_M000"]
COPIES = [f"{u}~noise{k}" for u in USABLE for k in (1, 2)]


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ("noise", Augmentation("noise", 20.0, 1)),
    ("noise:copies=2", Augmentation("noise", 20.0, 2)),
    ("noise:snr=15,copies=3", Augmentation("noise", 15.0, 3)),
    (" noise:copies=2, snr=-5 ", Augmentation("noise", -5.0, 2)),
    ("noise:snr=12.5dB", Augmentation("noise", 12.5, 1)),
])
def test_spec_parses_with_defaults_and_round_trips(spec, expected):
    parsed = parse_spec(spec)
    assert parsed == expected
    assert parse_spec(str(parsed)) == parsed
    assert parsed.copy_id("u1", 2) == "u1~noise2"
    assert parsed.label(1) == f"noise:snr={parsed.snr_db:g}:k=1"


def test_no_spec_means_no_augmentation():
    assert parse_spec(None) is None and parse_spec("") is None and parse_spec("none") is None
    assert copies_of([{"utt_id": "a", "status": "ok"}], None) == []


@pytest.mark.parametrize("spec, says", [
    ("reverb", "unknown kind 'reverb'; known: noise"),
    ("Noise", "expected noise[:snr=<dB>,copies=<n>]"),
    ("noise:snr=abc", "snr must be a finite number"),
    ("noise:snr=inf", "snr must be a finite number"),
    ("noise:copies=0", "copies must be an integer from 1 to 100"),
    ("noise:copies=1.5", "copies must be an integer"),
    ("noise:level=3", "unknown option 'level'; known: snr, copies"),
    ("noise:snr=20,snr=10", "option 'snr' given twice"),
    ("noise:snr", "option 'snr' is not key=value"),
    ("noise:", "option '' is not key=value"),
])
def test_bad_specs_fail_with_one_line(spec, says):
    with pytest.raises(AugmentError) as caught:
        parse_spec(spec)
    message = str(caught.value)
    assert says in message and repr(spec) in message and "\n" not in message


def test_cli_refuses_a_bad_spec_before_any_work(tmp_path, capsys):
    assert cli.main(["iemocap", str(tmp_path / "nowhere"), "--out", str(tmp_path),
                     "--augment", "noise:copies=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--augment" in err and "copies must be" in err
    assert not (tmp_path / "iemocap").exists()


# --------------------------------------------------------------------------------------------
# The noise
# --------------------------------------------------------------------------------------------
def _speechlike(seconds=0.5, rate=16000, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    x = sum(np.sin(2 * np.pi * f * t) / i for i, f in enumerate((180, 360, 540, 1200), 1))
    x += 0.05 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.1 * envelope * x).astype(np.float32)


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0, 35.0])
def test_add_noise_reaches_the_requested_snr(snr):
    clean = _speechlike()
    noisy = add_noise(clean, snr, rng_for("u~noise1"))
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    assert abs(snr_db(clean, noisy) - snr) < 0.5
    assert np.max(np.abs(noisy)) <= 1.0


def test_add_noise_is_deterministic_per_copy_id():
    clean = _speechlike()
    first = add_noise(clean, 20, rng_for("Ses01F_impro01_F000~noise1"))
    again = add_noise(clean, 20, rng_for("Ses01F_impro01_F000~noise1"))
    other = add_noise(clean, 20, rng_for("Ses01F_impro01_F000~noise2"))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    # Seeded from sha256 of the id, not Python's salted hash(): another process, another
    # PYTHONHASHSEED, the same noise.
    code = ("import numpy as np, sys; from data_prep.augment import rng_for; "
            "sys.stdout.write(rng_for('Ses01F_impro01_F000~noise1').standard_normal(4).tobytes()"
            ".hex())")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
        assert out == rng_for("Ses01F_impro01_F000~noise1").standard_normal(4).tobytes().hex()


def test_add_noise_leaves_a_zero_signal_and_clips_at_full_scale():
    np.testing.assert_array_equal(add_noise(np.zeros(100, np.float32), 20, rng_for("z")),
                                  np.zeros(100, np.float32))
    loud = np.full(1000, 0.99, np.float32)
    assert np.max(np.abs(add_noise(loud, 0, rng_for("l")))) <= 1.0
    assert np.max(np.abs(add_noise(loud, 0, rng_for("l"), clip=False))) > 1.0


# --------------------------------------------------------------------------------------------
# The copy rows
# --------------------------------------------------------------------------------------------
def test_copies_of_usable_rows_repeat_every_column():
    rows = [{"utt_id": "b", "status": "ok", "label": "ang", "speaker": "s2", "text": "Hi.",
             "audio_path": "/b.wav", "session": "1"},
            {"utt_id": "a", "status": "ok", "label": "neu", "speaker": "s1", "text": "",
             "audio_path": "/a.wav", "session": "2"},
            {"utt_id": "c", "status": "silent_audio", "label": "sad", "speaker": "s1"}]
    copies = copies_of(rows, "noise:snr=15,copies=2")
    assert [c["utt_id"] for c in copies] == ["a~noise1", "a~noise2", "b~noise1", "b~noise2"]
    for copy in copies:
        source = next(r for r in rows if r["utt_id"] == copy["source_id"])
        assert dict(copy, utt_id=source["utt_id"]) == dict(
            source, source_id=source["utt_id"], augmentation=copy["augmentation"])
    assert [c["augmentation"] for c in copies[:2]] == ["noise:snr=15:k=1", "noise:snr=15:k=2"]
    assert copies == copies_of(list(reversed(rows)), "noise:snr=15,copies=2")  # deterministic
    assert copies_of([dict(copies[0], utt_id="x~noise1")], "noise") == []  # no copy of a copy
    assert all("source_id" not in r for r in rows)  # the sources are not touched


def test_a_copy_id_that_clashes_with_an_utterance_is_an_error():
    rows = [{"utt_id": "a", "status": "ok"}, {"utt_id": "a~noise1", "status": "no_label"}]
    with pytest.raises(AugmentError, match="a~noise1 of a clashes"):
        copies_of(rows, "noise")


# --------------------------------------------------------------------------------------------
# The manifest columns
# --------------------------------------------------------------------------------------------
OLD_COLUMNS = ("utt_id,corpus,audio_path,start_s,end_s,duration_s,sample_rate,speaker,gender,"
               "session,dialog,scenario,text,label,valence,arousal,dominance,split,status")


def test_a_manifest_written_before_augmentation_still_reads(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text(OLD_COLUMNS + "\nu1,toy,/a.wav,,,0.5,16000,s1,F,1,d,,Hi.,neu,,,,,ok\n")
    rows = store.read_manifest(path)
    assert list(rows[0]) == list(store.MANIFEST_COLUMNS)
    assert rows[0]["source_id"] == rows[0]["augmentation"] == "" and rows[0]["label"] == "neu"
    path.write_text(OLD_COLUMNS.replace(",label", "") + "\n")
    with pytest.raises(store.StoreError, match=r"lacks columns \['label'\]"):
        store.read_manifest(path)


def test_a_manifest_without_copies_keeps_the_old_columns_and_bytes(tmp_path):
    rows = [{"utt_id": "u1", "corpus": "toy", "status": "ok", "label": "neu"}]
    store.write_manifest(tmp_path / "m.csv", rows)
    assert (tmp_path / "m.csv").read_text().splitlines()[0] == OLD_COLUMNS
    copy = dict(rows[0], utt_id="u1~noise1", source_id="u1", augmentation="noise:snr=20:k=1")
    store.write_manifest(tmp_path / "m.csv", rows + [copy])
    assert (tmp_path / "m.csv").read_text().splitlines()[0] == \
        OLD_COLUMNS + ",source_id,augmentation"
    read = store.read_manifest(tmp_path / "m.csv")
    assert [(r["utt_id"], r["source_id"]) for r in read] == [("u1", ""), ("u1~noise1", "u1")]


# --------------------------------------------------------------------------------------------
# A prepare with copies
# --------------------------------------------------------------------------------------------
# (fixtures tiny_bert and release: tests/conftest.py)
def _args(release, out, tiny_bert, *extra):
    return ["iemocap", str(release), "--out", str(out), "--text-encoder", str(tiny_bert),
            "--quiet", "--shard-size", "3", "--features", "mfcc39_smile,bert_tokens", *extra]


@pytest.fixture(scope="module")
def augmented_store(release, tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("store")
    assert cli.main(_args(release, out, tiny_bert, "--workers", "2",
                          "--augment", "noise:copies=2")) == 0
    return out


def _rows(out):
    return {r["utt_id"]: r for r in store.read_manifest(store.manifest_path(out, "iemocap"))}


def test_prepare_writes_copy_rows_next_to_their_sources(augmented_store):
    rows = _rows(augmented_store)
    assert len(rows) == 13 + len(COPIES)
    assert sorted(u for u, r in rows.items() if r["source_id"]) == COPIES
    for copy_id in COPIES:
        copy, source = rows[copy_id], rows[copy_id.split("~")[0]]
        assert copy["source_id"] == source["utt_id"] and copy["status"] == "ok"
        assert copy["augmentation"] == f"noise:snr=20:k={copy_id[-1]}"
        for column in ("label", "speaker", "session", "gender", "dialog", "text",
                       "audio_path", "duration_s", "valence"):
            assert copy[column] == source[column], column
    assert all(not r["source_id"] and not r["augmentation"]
               for u, r in rows.items() if u not in COPIES)
    report = json.loads((augmented_store / "iemocap" / "prepare_report.json").read_text())
    assert (report["utterances"], report["usable"]) == (13, 5)   # the release's own counts
    augmentation = report["augmentation"]
    assert (augmentation["spec"], augmentation["copy_rows"], augmentation["sources"]) == \
        ("noise:snr=20,copies=2", 10, 5)
    assert augmentation["by_label"] == {"ang": 2, "hap": 2, "neu": 2, "sad": 2, "xxx": 2}
    assert report["features"]["mfcc39_smile"]["records"] == 15


def test_copies_get_features_from_the_noisy_signal(augmented_store):
    from data_prep.audio import load_audio
    from data_prep.features import get_feature_set

    rows = _rows(augmented_store)
    mfcc = store.open_feature_set(augmented_store, "iemocap", "mfcc39_smile").to_dict()
    bert = store.open_feature_set(augmented_store, "iemocap", "bert_tokens").to_dict()
    assert sorted(mfcc) == sorted(bert) == sorted(USABLE + COPIES)
    extractor = get_feature_set("mfcc39_smile")
    for source in USABLE:
        one, two = mfcc[f"{source}~noise1"], mfcc[f"{source}~noise2"]
        assert one.shape == two.shape == mfcc[source].shape
        assert not np.allclose(one, mfcc[source], atol=1e-3)
        assert not np.allclose(one, two, atol=1e-3)
        # The pipeline = the extractor on the source's audio plus the copy's own noise.
        signal = load_audio(rows[source]["audio_path"])
        expected = extractor.extract(add_noise(signal, 20, rng_for(f"{source}~noise1")))
        np.testing.assert_allclose(one, expected, rtol=1e-6, atol=1e-6)
        # The transcript is not augmented: text features equal the source's.
        for k in (1, 2):
            np.testing.assert_allclose(bert[f"{source}~noise{k}"], bert[source], atol=1e-5)


def test_rerunning_the_same_command_is_a_no_op(augmented_store, release, tiny_bert):
    manifest = store.manifest_path(augmented_store, "iemocap")
    before = manifest.read_bytes()
    shards = {p: p.stat().st_mtime_ns for p in augmented_store.rglob("*.tfrecord")}
    assert cli.main(_args(release, augmented_store, tiny_bert, "--workers", "1",
                          "--augment", "noise:snr=20,copies=2")) == 0   # same spec, spelt out
    assert manifest.read_bytes() == before
    assert {p: p.stat().st_mtime_ns for p in augmented_store.rglob("*.tfrecord")} == shards


def test_another_spec_rewrites_manifest_and_sets_consistently(augmented_store, release,
                                                             tiny_bert, tmp_path, capsys):
    out = tmp_path / "store"
    shutil.copytree(augmented_store, out)
    originals = store.open_feature_set(out, "iemocap", "mfcc39_smile").to_dict()
    # One copy, audio set only: mfcc is rebuilt; bert_tokens, not requested, is now stale.
    capsys.readouterr()
    assert cli.main(_args(release, out, tiny_bert, "--workers", "1", "--augment", "noise",
                          "--features", "mfcc39_smile")) == 0
    printed = capsys.readouterr().out
    assert "configuration or manifest changed; rebuilding mfcc39_smile" in printed
    assert "bert_tokens no longer match" in printed
    assert sorted(u for u, r in _rows(out).items() if r["source_id"]) == \
        [f"{u}~noise1" for u in USABLE]
    mfcc = store.open_feature_set(out, "iemocap", "mfcc39_smile").to_dict()
    assert sorted(mfcc) == sorted(USABLE + [f"{u}~noise1" for u in USABLE])
    for u in USABLE + [f"{u}~noise1" for u in USABLE]:   # same ids, same numbers
        np.testing.assert_array_equal(mfcc[u], originals[u])
    report = json.loads((out / "iemocap" / "prepare_report.json").read_text())
    assert report["stale_feature_sets"] == ["bert_tokens"]
    with pytest.raises(store.StoreError, match="built from another manifest"):
        store.open_feature_set(out, "iemocap", "bert_tokens")
    # No --augment on a store with copies: refused (the copies are not dropped silently)
    capsys.readouterr()
    assert cli.main(_args(release, out, tiny_bert, "--workers", "1")) == 2
    err = capsys.readouterr().err
    assert "holds augmented copies (noise:snr=20,copies=1)" in err and "--augment none" in err
    assert any(r["source_id"] for r in _rows(out).values())
    # --augment none: the manifest of an un-augmented prepare, every set without copies.
    assert cli.main(_args(release, out, tiny_bert, "--workers", "1", "--augment", "none")) == 0
    header = store.manifest_path(out, "iemocap").read_text().splitlines()[0]
    assert header == OLD_COLUMNS
    assert not any(r["source_id"] for r in _rows(out).values())
    for name in ("mfcc39_smile", "bert_tokens"):
        assert sorted(store.open_feature_set(out, "iemocap", name).utt_ids) == USABLE
    report = json.loads((out / "iemocap" / "prepare_report.json").read_text())
    assert report["augmentation"] is None and report["stale_feature_sets"] == []


# --------------------------------------------------------------------------------------------
# Stage 2: copies stay with their source
# --------------------------------------------------------------------------------------------
def _corpus(copies=2):
    """120 originals: 10 speakers x 4 labels x 3 utterances, and their noisy copies."""
    originals = [{"utt_id": f"s{s}_{label}_{i}", "speaker": f"s{s}", "label": label,
                  "status": "ok", "source_id": "", "augmentation": ""}
                 for s in range(10) for label in ("ang", "hap", "neu", "sad") for i in range(3)]
    return originals, copies_of(originals, f"noise:copies={copies}")


def _no_held_out_copy_in_train(fold, copies_by_source):
    """The property itself, checked without the module's own assertion."""
    held_out = set(fold.validation) | set(fold.test)
    leaked = [c["utt_id"] for s in held_out for c in copies_by_source.get(s, ())
              if c["utt_id"] in set(fold.train)]
    assert not leaked, f"fold {fold.name}: copies of held-out utterances in train: {leaked[:3]}"
    assert not [u for u in held_out if "~" in u], "a copy in validation/test"


@pytest.mark.parametrize("protocol", ["random-stratified", "speaker-kfold"])
def test_after_split_copies_only_join_their_training_source(protocol):
    originals, copies = _corpus()
    _, by_source = augmented.split_copies(originals + copies)
    folds = make_folds(protocol, originals, seed=0)
    result = augmented.attach_copies(folds, by_source)
    assert len(result) == len(folds) >= 1
    for before, fold in zip(folds, result):
        _no_held_out_copy_in_train(fold, by_source)
        train = set(fold.train)
        assert all(c["utt_id"] in train for s in before.train for c in by_source[s])
        assert (fold.validation, fold.test) == (before.validation, before.test)
        assert fold.info["augmented_train"] == 2 * len(before.train)
        assert fold.info["copies_unused"] == 2 * (len(before.validation) + len(before.test))
        assert fold.info["copies_unused_by_part"]["test"] == 2 * len(before.test)
        assert before.info == {k: v for k, v in fold.info.items() if k in before.info}
    assert augmented.make_augmented_folds(protocol, originals + copies, seed=0) == result


def test_a_test_copy_moved_into_train_is_caught():
    originals, copies = _corpus(copies=1)
    _, by_source = augmented.split_copies(copies)
    fold = augmented.attach_copies(make_folds("random-stratified", originals), by_source)[0]
    fold.train.append(f"{fold.test[0]}~noise1")
    with pytest.raises(AssertionError, match="in train but its source .* is in test"):
        augmented.assert_copies_with_source(fold, augmented.source_map(by_source))
    with pytest.raises(AssertionError):
        _no_held_out_copy_in_train(fold, by_source)


def test_before_split_leaks_test_utterances_into_training_and_says_so():
    originals, copies = _corpus()
    folds = augmented.make_augmented_folds("random-stratified", originals + copies,
                                           mode="before-split", seed=0)
    fold = folds[0]
    assert len(fold.train) + len(fold.validation) + len(fold.test) == 360
    assert fold.info["augmentation_mode"] == "before-split"
    assert fold.info["leaked_test_sources"] > 0 and fold.info["copies_in_train"] > 0
    with pytest.raises(AssertionError):
        augmented.assert_copies_with_source(
            fold, augmented.source_map(augmented.split_copies(copies)[1]))
    # Speaker-disjoint protocols keep copies with their speaker: nothing leaks even so.
    for fold in augmented.make_augmented_folds("speaker-kfold", originals + copies,
                                               mode="before-split", seed=0):
        assert fold.info["leaked_test_sources"] == fold.info["leaked_validation_sources"] == 0


def test_mode_none_drops_copies_and_unknown_modes_fail():
    originals, copies = _corpus(copies=1)
    folds = augmented.make_augmented_folds("random-stratified", originals + copies, mode="none")
    assert not [u for f in folds for u in f.train + f.validation + f.test if "~" in u]
    assert folds[0].info["copies_unused"] == 120 and folds[0].info["augmented_train"] == 0
    with pytest.raises(ProtocolError, match="unknown augmentation mode 'mixed'"):
        augmented.protocol_rows(originals, "mixed")
    with pytest.raises(ProtocolError, match="made from originals only"):
        _, by_source = augmented.split_copies(copies)
        augmented.attach_copies(make_folds("random-stratified", originals + copies), by_source)


def test_split_copies_groups_by_source():
    originals, copies = _corpus(copies=2)
    kept, by_source = augmented.split_copies(list(reversed(originals + copies)))
    assert sorted(r["utt_id"] for r in kept) == sorted(r["utt_id"] for r in originals)
    assert collections.Counter(len(g) for g in by_source.values()) == {2: 120}
    assert [c["utt_id"] for c in by_source["s0_ang_0"]] == ["s0_ang_0~noise1", "s0_ang_0~noise2"]


def test_for_names_the_cells_that_need_augmented_copies():
    from data_prep.cli import experiment_augmentation

    wanting = experiment_augmentation("kakuba2023/table7")
    assert {"ravdess", "rst", "ravdess-leaky", "urdu-si"} <= set(wanting)
    assert experiment_augmentation("kakuba2023/table4") == []
