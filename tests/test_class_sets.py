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
    cross4 = CLASS_SETS["cross4"]
    assert cross4.index("exc") == cross4.index("H") == cross4.classes.index("happy")
