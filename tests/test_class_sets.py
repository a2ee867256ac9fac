"""Every class set reads the codes its corpora's adapters actually write (on the miniature
trees), so no class silently matches nothing."""
import pytest

import mini_corpora
import mini_corpora_av
from data_prep.corpora import ADAPTERS
from ser_keras.data import CLASS_SETS

BUILDERS = {
    "urdu": mini_corpora.build_urdu, "emodb": mini_corpora.build_emodb,
    "ravdess": mini_corpora.build_ravdess, "savee": mini_corpora.build_savee,
    "tess": mini_corpora.build_tess, "crema-d": mini_corpora.build_crema_d,
    "asvp-esd": mini_corpora.build_asvp_esd, "meld": mini_corpora_av.build_meld,
    "msp-podcast": mini_corpora_av.build_msp_podcast, "mosei": mini_corpora_av.build_mosei,
}


@pytest.mark.parametrize("corpus", sorted(BUILDERS))
def test_class_sets_map_the_codes_the_adapter_writes(corpus, tmp_path):
    rows = ADAPTERS[corpus].scan(BUILDERS[corpus](tmp_path)).rows
    codes = {r["label"] for r in rows if r["status"] == "ok"}
    sets = [c for c in CLASS_SETS.values() if corpus in c.corpora]
    assert sets, f"no class set reads {corpus}"
    for class_set in sets:
        mapped = {class_set.mapping[c] for c in codes if c in class_set.mapping}
        # The miniature trees hold several emotions: a set must recognise at least two.
        assert len(mapped) >= 2, f"{class_set.name} maps {sorted(mapped)} of {sorted(codes)}"


def test_combined_sets_read_each_of_their_corpora():
    assert CLASS_SETS["rst7"].corpora == ("ravdess", "savee", "tess")
    rst7 = CLASS_SETS["rst7"]
    assert rst7.index("05") == rst7.index("a") == rst7.index("angry") == 0
    assert rst7.index("02") is None                        # RAVDESS calm is not among the 7
    # kakuba2023 Table 3 (1440 RAVDESS samples, 7 emotions): calm merged into neutral
    merged = CLASS_SETS["rst7-merged"]
    assert merged.index("02") == merged.index("01") == merged.classes.index("neutral")
    assert CLASS_SETS["ravdess7-merged"].index("02") == CLASS_SETS["ravdess7"].index("01")
    assert CLASS_SETS["ravdess7"].index("02") is None
    cross4 = CLASS_SETS["cross4"]
    assert cross4.index("exc") == cross4.index("H") == cross4.classes.index("happy")


def _selected(corpus, class_set, tmp_path):
    from ser_keras.data import get_class_set
    from ser_keras.data.input import select_rows

    rows = ADAPTERS[corpus].scan(BUILDERS[corpus](tmp_path)).rows
    kept, left_out = select_rows(rows, get_class_set(class_set))
    return rows, kept, left_out


def test_ravdess7_merged_keeps_every_speech_file_and_ravdess7_drops_calm(tmp_path):
    """kakuba2023 Table 3: 1440 RAVDESS samples with 7 emotions = calm merged into neutral."""
    rows, merged, _ = _selected("ravdess", "ravdess7-merged", tmp_path / "a")
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(merged) == len(ok) == 4               # every usable speech file, calm included
    calm = [r for r in ok if r["label"] == "02"]
    assert calm, "the miniature tree has a calm file"
    _, nocalm, left_out = _selected("ravdess", "ravdess7", tmp_path / "b")
    assert len(nocalm) == len(ok) - len(calm)
    assert left_out["label 02 not in ravdess7"] == len(calm)


def test_emodb4_keeps_the_four_emotions_of_table4(tmp_path):
    rows, kept, left_out = _selected("emodb", "emodb4", tmp_path)
    assert sorted(r["label"] for r in kept) == ["F", "N", "T", "W", "W"]  # 99a01Wa too
    assert left_out == {"label L not in emodb4": 1, "label E not in emodb4": 1,
                        **{k: v for k, v in left_out.items() if k.startswith("status")}}


def test_derived_sets_of_a_hierarchy_resolve_by_name_and_are_never_listed():
    from ser_keras.data.classes import CLASS_SETS, get_class_set, one_vs_rest, without

    level1 = get_class_set(one_vs_rest("iemocap4", "neutral", "emotional"))
    assert level1.classes == ("neutral", "emotional")
    assert level1.index("exc") == 1 and level1.index("neu") == 0 and level1.index("fru") is None
    emotions = get_class_set("iemocap4/without-neutral")   # as a saved config names it
    assert emotions.classes == ("angry", "sad", "happy") and emotions.index("neu") is None
    assert emotions.index("exc") == 2
    assert not any("/" in name for name in CLASS_SETS)
    with pytest.raises(ValueError, match="must not"):
        one_vs_rest("iemocap4", "neutral", "happy")
    with pytest.raises(ValueError, match="unknown class set"):
        get_class_set("iemocap4/without-calm")
