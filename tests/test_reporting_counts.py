"""Corpus count tables (ser_keras.reporting.corpus): utterances and durations per class and
group counted from hand-made manifests, beside a made-up paper's published numbers.

Every expected number is computed by hand from the rows below.
"""
import pandas as pd
import pytest

from ser_keras.cli.report import main
from ser_keras.errors import ConfigError
from ser_keras.reporting import corpus
from ser_keras.store import MANIFEST_COLUMNS, manifest_path, write_manifest

PAPER = "fake2020"
PUBLISHED_HEADER = "table,scenario,modality,class,metric,mean,std,note,dataset,split,model"


def row(utt_id, **values):
    out = {c: "" for c in MANIFEST_COLUMNS}
    out.update(utt_id=utt_id, status="ok", sample_rate="16000")
    out.update({k: str(v) for k, v in values.items()})
    return out


# 10 rows: 6 counted under a class, 2 of an unmapped label, 1 not ok, 1 augmented copy.
LABEL_ROWS = [
    row("u01", scenario="improvised", label="ang", duration_s=2.0),
    row("u02", scenario="improvised", label="ang", start_s=1.0, end_s=4.0),  # 3 s from ends
    row("u03", scenario="improvised", label="neu", duration_s=6.0),
    row("u04", scenario="scripted", label="ang", duration_s=4.0),
    row("u05", scenario="scripted", label="neu", duration_s=5.0),
    row("u06", scenario="scripted", label="exc", duration_s=12.0),
    row("u07", scenario="improvised", label="xxx", duration_s=1.0),
    row("u08", scenario="scripted", label="xxx", duration_s=2.0),
    row("u09", scenario="improvised", label="ang", duration_s=9.0, status="missing_audio"),
    row("u10", scenario="improvised", label="ang", duration_s=2.0, source_id="u01",
        augmentation="noise:snr=20:k=1"),
]


def scored(utt_id, split, happy, sad, anger, label=""):
    return row(utt_id, split=split, label=label, duration_s=1.0,
               scores=f"happy={happy};sad={sad};anger={anger}")


SCORE_ROWS = [
    scored("t1", "train", 1, 0, 0, "happy"),
    scored("t2", "train", 2, 0, 0, "happy"),
    scored("t3", "train", 1, 1, 0, "happy"),        # two scores > 0
    scored("t4", "train", 0, 0.333333, 0, "sad"),
    scored("t5", "train", 0, 0, 0, "none"),         # no score > 0
    scored("s1", "test", 1, 0, 0, "happy"),
    scored("s2", "test", 0, 0, 1, "anger"),
    scored("s3", "test", 1, 0, 1, "happy"),         # two scores > 0
    scored("s4", "test", 0, 1, 0, "sad"),
    row("s5", split="test", label="none", duration_s=1.0),   # no scores at all
]

LABEL_ENTRY = """
  - name: t1
    label: Table 1
    title: utterances and duration per emotion
    dataset: fakecorpus
    classes: {angry: [ang], neutral: [neu], excited: [exc]}
    groups:
      improvised: {scenario: [improvised]}
      mixed: {scenario: [improvised, scripted]}
    group_axis: scenario
    statistics: [count, duration_min]
    layout: classes_as_columns
    display: {neutral: Neutral}
    published: {table: "{table}", dataset: "{dataset}", scenario: "{group}", class: "{class}",
                metric: "{statistic}"}
"""


def score_entry(name, reading, majority=True, groups=None):
    groups = groups or "{train: {split: [train]}, test: {split: [test]}}"
    return f"""
  - name: {name}
    label: Table 2
    title: utterances per emotion and split
    dataset: fakescores
    classes: {{happy: [happy], sad: [sad], angry: [anger]}}
    groups: {groups}
    group_axis: split
    reading: {reading}
    majority: {str(majority).lower()}
    published: {{table: "{{table}}", dataset: "{{dataset}}", split: "{{group}}",
                class: "{{class}}", metric: "{{statistic}}"}}
"""


PUBLISHED = """\
t1,improvised,,angry,count,3,,printed 'Angyr',fakecorpus,,
t1,mixed,,neutral,duration_min,0.20,,,fakecorpus,,
t2,,,happy,count,2,,,fakescores,train,
"""


def experiments(tmp_path, entries, published=PUBLISHED, extra=""):
    root = tmp_path / "experiments"
    (root / PAPER).mkdir(parents=True, exist_ok=True)
    (root / PAPER / "tables.yaml").write_text(
        f"paper: {PAPER}\n{extra}counts:" + "".join(entries), encoding="utf-8")
    (root / PAPER / "published.csv").write_text(PUBLISHED_HEADER + "\n" + published,
                                                encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "data"
    write_manifest(manifest_path(root, "fakecorpus"),
                   [{**r, "corpus": "fakecorpus"} for r in LABEL_ROWS])
    write_manifest(manifest_path(root, "fakescores"),
                   [{**r, "corpus": "fakescores"} for r in SCORE_ROWS])
    return root


def load(tmp_path, entries):
    return corpus.load_counts(experiments(tmp_path, entries))


def published(tmp_path):
    from ser_keras.reporting import load_published
    return load_published(tmp_path / "experiments" / PAPER / "published.csv")


def values(result):
    e = result.entries
    return {(g, c, s): v for g, c, s, v in zip(e["group"], e["class"], e["statistic"],
                                               e["ours"])}


def test_label_reading_counts_durations_and_caption(tmp_path, store):
    (decl,) = load(tmp_path, [LABEL_ENTRY])
    result = corpus.build_counts(decl, store, published(tmp_path))
    got = values(result)
    assert got[("improvised", "angry", "count")] == 2
    assert got[("improvised", "neutral", "count")] == 1
    assert got[("improvised", "excited", "count")] == 0
    assert got[("mixed", "angry", "count")] == 3        # mixed ⊇ improvised
    assert got[("mixed", "neutral", "count")] == 2
    assert got[("mixed", "excited", "count")] == 1
    assert got[("improvised", "angry", "duration_min")] == pytest.approx(5 / 60)
    assert got[("mixed", "angry", "duration_min")] == pytest.approx(9 / 60)
    assert got[("mixed", "neutral", "duration_min")] == pytest.approx(11 / 60)
    assert got[("mixed", "excited", "duration_min")] == pytest.approx(12 / 60)
    assert result.rows_counted == 6
    assert result.not_ok == {"missing_audio": 1} and result.augmented == 1
    assert result.other_labels == {"xxx": 2}
    md = corpus.to_markdown(result)
    assert "Rows not counted (status): missing_audio 1." in md
    assert "Augmented copies skipped (source_id set): 1." in md
    assert "Other labels (not counted): xxx 2." in md
    # classes as columns: one row per (group, statistic), Δ beside the paper's number
    assert "| Scenario | Statistic | Angry | Angry paper | Angry Δ | Neutral |" in md
    assert "| Improvised | Count | 2 | 3† | -1 | 1 | — | — | 0 | — | — |" in md
    assert ("| Mixed | Duration (min) | 0.15 | — | — | 0.18 | 0.20 | -0.02 | 0.20 | — | — |"
            in md)
    assert "- printed 'Angyr'" in md


def test_published_numbers_and_diff_in_the_csv(tmp_path, store):
    (decl,) = load(tmp_path, [LABEL_ENTRY])
    paths = corpus.write_counts(corpus.build_counts(decl, store, published(tmp_path)),
                                tmp_path / "out")
    assert paths["md"].name == f"{PAPER}_t1_fakecorpus.md"
    frame = pd.read_csv(paths["csv"])
    frame["note"] = frame["note"].fillna("")
    assert list(frame.columns) == list(corpus.CSV_COLUMNS)
    assert len(frame) == 2 * 3 * 2                       # groups x classes x statistics
    hit = frame[(frame["group"] == "improvised") & (frame["class"] == "angry")
                & (frame["statistic"] == "count")].iloc[0]
    assert (hit["ours"], hit["paper"], hit["diff"]) == (2, 3, -1)
    assert hit["note"] == "printed 'Angyr'"
    hit = frame[(frame["group"] == "mixed") & (frame["class"] == "neutral")
                & (frame["statistic"] == "duration_min")].iloc[0]
    assert hit["diff"] == pytest.approx(11 / 60 - 0.20)
    assert frame["paper"].isna().sum() == 10            # no published number: empty


def test_exactly_one_reading_and_majority(tmp_path, store):
    (decl,) = load(tmp_path, [score_entry("t2", "exactly_one")])
    result = corpus.build_counts(decl, store, published(tmp_path))
    got = values(result)
    assert [got[("train", c, "count")] for c in ("happy", "sad", "angry")] == [2, 1, 0]
    assert [got[("test", c, "count")] for c in ("happy", "sad", "angry")] == [1, 1, 1]
    assert result.majority["class"] == "happy"
    assert got[("test", "happy", "majority")] == pytest.approx(100 / 3)
    assert got[("test", "angry", "test_share_pct")] == pytest.approx(100 / 3)
    md = corpus.to_markdown(result)
    assert "1 with no score > 0" in md and "2 with ≥ 2 scores > 0" in md
    assert "1 without scores" in md
    assert "Majority baseline: Happy (most frequent in Train: 2 of 3 rows) is 33.33 %" in md
    # classes as rows (the default): a test-share column
    assert "| Class | Train | Train paper | Train Δ | Test | Test paper | Test Δ | " \
           "Test share % |" in md
    assert "| Happy | 2 | 2 | +0 | 1 | — | — | 33.33 | — | — |" in md
    frame = corpus.to_csv_frame(result)
    assert frame.iloc[-1]["statistic"] == "majority" and frame.iloc[-1]["class"] == "happy"


def test_total_counts_the_utterances_once_per_group(tmp_path, store):
    # presence counts a row once per present class; the total counts it once
    entry = score_entry("t2", "presence").replace("majority: true", "majority: true\n"
                                                  "    total: true")
    (decl,) = load(tmp_path, [entry])
    result = corpus.build_counts(decl, store, published(tmp_path))
    got = values(result)
    for group in ("train", "test"):
        classes = sum(got[(group, c, "count")] for c in ("happy", "sad", "angry"))
        assert got[(group, "total", "count")] <= classes
        assert got[(group, "total", "count")] == result.majority[f"{group}_n"]
    assert ("test", "total", "test_share_pct") not in got   # 100 % by definition: not shown
    assert "| Total |" in corpus.to_markdown(result)
    with pytest.raises(ConfigError, match="'total' is the total's name"):
        load(tmp_path, [entry.replace("angry: [anger]", "total: [anger]")])


def test_presence_reading_counts_every_present_class(tmp_path, store):
    (decl,) = load(tmp_path, [score_entry("t2", "presence")])
    result = corpus.build_counts(decl, store, None)
    got = values(result)
    assert [got[("train", c, "count")] for c in ("happy", "sad", "angry")] == [3, 2, 0]
    assert [got[("test", c, "count")] for c in ("happy", "sad", "angry")] == [2, 1, 2]
    assert got[("test", "happy", "majority")] == pytest.approx(50.0)   # present in 2 of 4
    assert [got[("test", c, "test_share_pct")] for c in ("happy", "sad", "angry")] == \
        pytest.approx([50.0, 25.0, 50.0])
    md = corpus.to_markdown(result)
    assert "counts sum to more than the utterances (8 utterances, 10 class presences)" in md
    assert "is present in 50.00 % of Test" in md


def test_label_reading_of_a_scored_manifest(tmp_path, store):
    (decl,) = load(tmp_path, [score_entry("t2", "label")])
    result = corpus.build_counts(decl, store, None)
    got = values(result)
    assert [got[("train", c, "count")] for c in ("happy", "sad", "angry")] == [3, 1, 0]
    assert [got[("test", c, "count")] for c in ("happy", "sad", "angry")] == [2, 1, 1]
    assert got[("test", "happy", "majority")] == pytest.approx(50.0)  # s5's label: none
    assert result.other_labels == {"none": 2}


def test_scores_reading_without_scores_column_is_a_note(tmp_path, store):
    entry = score_entry("t2", "presence", majority=False).replace("fakescores", "fakecorpus")
    (decl,) = load(tmp_path, [entry])
    result = corpus.build_counts(decl, store, None)
    assert not result.found
    md = corpus.to_markdown(result)
    assert f"{manifest_path(store, 'fakecorpus')}: no scores column; re-run ser-prepare" in md
    assert set(result.entries["ours_text"]) == {"—"}


def test_missing_store_shows_the_paper_and_the_command(tmp_path):
    (decl,) = load(tmp_path, [LABEL_ENTRY])
    for data_dir in (tmp_path / "nostore", None):
        result = corpus.build_counts(decl, data_dir, published(tmp_path))
        md = corpus.to_markdown(result)
        assert set(result.entries["ours_text"]) == {"—"}
        assert "| Improvised | Count | — | 3† | — |" in md
        assert "ser-prepare fakecorpus <path to the fakecorpus release> --out" in md
    assert (f"No prepared fakecorpus store at {tmp_path / 'nostore' / 'fakecorpus'}"
            in corpus.to_markdown(corpus.build_counts(decl, tmp_path / "nostore")))


@pytest.mark.parametrize("change, key", [
    (("[count, duration_min]", "[count, median]"), ".statistics"),
    (("layout: classes_as_columns", "layout: diagonal"), ".layout"),
    (("group_axis: scenario", "group_axis: scenario\n    reading: guess"), ".reading"),
    (("group_axis: scenario", "group_axis: scenario\n    majority: true"), ".majority"),
    (("{scenario: [improvised]}", "{scenery: [improvised]}"), ".groups.improvised.scenery"),
    (('class: "{class}"', 'class: "{klass}"'), ".published.class"),
    (("display: {neutral: Neutral}", "display: {calm: Calm}"), ".display"),
    (("title: utterances", "colour: red\n    title: utterances"), "unknown key(s) ['colour']"),
])
def test_bad_declaration_is_a_config_error_naming_the_key(tmp_path, change, key):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, [LABEL_ENTRY.replace(*change)])
    message = str(err.value)
    assert "\n" not in message and "tables.yaml: counts[0]" in message and key in message


def test_duplicate_names_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"counts\[1\] \(t1\)\.name"):
        load(tmp_path, [LABEL_ENTRY, LABEL_ENTRY])


def test_ser_report_end_to_end(tmp_path, store):
    exps = experiments(tmp_path, [LABEL_ENTRY, score_entry("t2", "exactly_one")])
    out = tmp_path / "tables"
    code = main(["--runs", str(tmp_path / "runs"), "--out", str(out), "--experiments",
                 str(exps), "--data", str(store)])
    assert code == 0
    for stem in (f"{PAPER}_t1_fakecorpus", f"{PAPER}_t2_fakescores"):
        assert (out / f"{stem}.md").is_file() and (out / f"{stem}.csv").is_file()
        assert f"({stem}.md)" in (out / "README.md").read_text(encoding="utf-8")
    assert "## Corpus counts" in (out / "README.md").read_text(encoding="utf-8")
    # no store: still exit 0, the tables say how to fill them
    code = main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "empty"),
                 "--experiments", str(exps), "--data", str(tmp_path / "nostore")])
    assert code == 0
    assert "No prepared fakecorpus store" in (tmp_path / "empty" / f"{PAPER}_t1_fakecorpus.md"
                                              ).read_text(encoding="utf-8")
