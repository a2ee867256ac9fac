"""Class sets: which corpus label codes become which classes, defined once for every paper.

A class set maps a corpus's own codes (manifest ``label``) to class names in a fixed order;
codes absent from the mapping (``xxx``, ``oth``...) are not part of the set and are left out of
training and evaluation, and counted as such.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ClassSet:
    name: str
    classes: tuple[str, ...]
    mapping: dict[str, str]           # corpus code -> class name
    corpora: tuple[str, ...]          # corpora whose codes this set reads
    source: str                       # where the definition comes from

    def __post_init__(self):
        unknown = set(self.mapping.values()) - set(self.classes)
        if unknown:
            raise ValueError(f"class set {self.name}: mapping targets {sorted(unknown)} "
                             f"are not among its classes {self.classes}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def index(self, code: str) -> int | None:
        """Class index of a corpus code, or None when the code is not in this set."""
        name = self.mapping.get(code)
        return None if name is None else self.classes.index(name)


_IEMOCAP_LIKE = ("iemocap", "demo")  # the demo corpus is written with IEMOCAP's codes

CLASS_SETS: dict[str, ClassSet] = {}


def _register(class_set: ClassSet) -> None:
    if class_set.name in CLASS_SETS:
        raise ValueError(f"class set {class_set.name!r} defined twice")
    CLASS_SETS[class_set.name] = class_set


# ho2020 Sec. IV-B / Table 3; alqurashi2024; triantafyllopoulos2022: excited merged into happy.
_register(ClassSet(
    "iemocap4", ("neutral", "angry", "sad", "happy"),
    {"neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy"},
    _IEMOCAP_LIKE, "ho2020 Sec. IV-B: four emotions (neutral, angry, sad, happy/excited)"))
# ho2020 Sec. IV-B / Table 4: eight emotions, disgust and other dropped (too few samples).
_register(ClassSet(
    "iemocap8", ("neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"),
    {"neu": "neutral", "fru": "frustrated", "ang": "angry", "sad": "sad", "hap": "happy",
     "sur": "surprise", "exc": "excited", "fea": "fear"},
    _IEMOCAP_LIKE, "ho2020 Sec. IV-B: eight emotions; disgust and other dropped"))

# ho2020 Table 2 / Sec. IV-A: MELD's seven emotions, official label strings.
_register(ClassSet(
    "meld7", ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust"),
    {c: c for c in ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")},
    ("meld",), "ho2020 Table 2: MELD seven emotions"))
# ho2020 Table 2: CMU-MOSEI's six emotions after the single-label reduction of data_prep.mosei.
_register(ClassSet(
    "mosei6", ("happy", "sad", "angry", "fear", "disgust", "surprise"),
    {"happy": "happy", "sad": "sad", "anger": "angry", "fear": "fear", "disgust": "disgust",
     "surprise": "surprise"},
    ("mosei",), "ho2020 Table 2: CMU-MOSEI six emotions (single-label reduction)"))
# triantafyllopoulos2022 Sec. 4 (categorical MSP-Podcast): the four classes shared with IEMOCAP.
_register(ClassSet(
    "msp4", ("neutral", "angry", "sad", "happy"),
    {"N": "neutral", "A": "angry", "S": "sad", "H": "happy"},
    ("msp-podcast", "demo-msp"),
    "triantafyllopoulos2022: MSP-Podcast neutral, angry, sad, happy"))
# kakuba2023 Table 4: EmoDB's seven emotions (file-name letters).
# kakuba2023 Table 4 (columns CH CS CA CN): EmoDB's happy, sad, angry and neutral.
_register(ClassSet(
    "emodb4", ("happy", "sad", "angry", "neutral"),
    {"F": "happy", "T": "sad", "W": "angry", "N": "neutral"}, ("emodb",),
    "kakuba2023 Table 4: EmoDB happiness, sadness, anger, neutral"))
_register(ClassSet(
    "emodb7", ("anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"),
    {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
     "T": "sadness", "N": "neutral"},
    ("emodb",), "EmoDB file-name emotion letters"))
_RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
            "06": "fear", "07": "disgust", "08": "surprise"}
_register(ClassSet(
    "ravdess8", ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise"),
    _RAVDESS, ("ravdess",), "RAVDESS file-name emotion codes 01-08"))
# kakuba2023 Tables 3, 7, 8: seven emotions (Table 8's columns CA CD CF CH CS CP CN: angry,
# disgust, fear, happy, sad, surprise, neutral) of RAVDESS's eight. Table 3 says "1440 samples
# used, 7 emotions": only merging calm into neutral keeps all 1440 speech files, so the
# kakuba2023 experiments read ravdess7-merged; ravdess7 (calm left out, 1248 files) is the
# other reading, and keeps the meaning it had before kakuba2023's experiments existed.
_SEVEN = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
_RAVDESS7 = {k: v for k, v in _RAVDESS.items() if v != "calm"}
_RAVDESS7_MERGED = {**_RAVDESS7, "02": "neutral"}
_register(ClassSet(
    "ravdess7", _SEVEN, _RAVDESS7, ("ravdess",),
    "RAVDESS without calm (1248 speech files); kakuba2023's other reading of Table 3"))
_register(ClassSet(
    "ravdess7-merged", _SEVEN, _RAVDESS7_MERGED, ("ravdess",),
    "kakuba2023 Table 3 (1440 samples, 7 emotions): RAVDESS with calm merged into neutral"))
_SAVEE = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "sa": "sad",
          "su": "surprise", "n": "neutral"}
_register(ClassSet("savee7", _SEVEN, _SAVEE, ("savee",), "SAVEE file-name prefixes"))
_TESS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
         "sad": "sad", "ps": "surprise", "neutral": "neutral"}
_register(ClassSet("tess7", _SEVEN, _TESS, ("tess",),
                   "TESS folders; pleasant surprise counted as surprise"))
# kakuba2023 Tables 7-8: RAVDESS + SAVEE + TESS pooled over their seven shared emotions (the
# dataset ``ravdess+savee+tess``). The three corpora's codes do not overlap ("05", "a",
# "angry"), so one mapping reads all three; RAVDESS's calm as in ravdess7 / ravdess7-merged.
_register(ClassSet(
    "rst7", _SEVEN, {**_RAVDESS7, **_SAVEE, **_TESS}, ("ravdess", "savee", "tess"),
    "RAVDESS (without calm) + SAVEE + TESS, seven emotions"))
_register(ClassSet(
    "rst7-merged", _SEVEN, {**_RAVDESS7_MERGED, **_SAVEE, **_TESS},
    ("ravdess", "savee", "tess"),
    "kakuba2023: RAVDESS (calm merged into neutral) + SAVEE + TESS, seven emotions"))
_register(ClassSet(
    "cremad6", ("angry", "disgust", "fear", "happy", "sad", "neutral"),
    {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "SAD": "sad",
     "NEU": "neutral"}, ("crema-d",), "kakuba2023 Table 8: CREMA-D six emotions"))
# kakuba2023 Tables 3, 7, 8: six of ASVP-ESD's emotion codes (no surprise column in Table 8);
# the code meanings follow data_prep.corpora.asvp_esd (partly unverified there).
_register(ClassSet(
    "asvp6", ("angry", "disgust", "fear", "happy", "sad", "neutral"),
    {"05": "angry", "07": "disgust", "06": "fear", "03": "happy", "04": "sad", "02": "neutral"},
    ("asvp-esd",), "kakuba2023 Table 8: ASVP-ESD six emotions"))
_register(ClassSet(
    "urdu4", ("angry", "happy", "neutral", "sad"),
    {c: c for c in ("angry", "happy", "neutral", "sad")}, ("urdu",),
    "URDU corpus folders Angry, Happy, Neutral, Sad"))

# triantafyllopoulos2022 cross-corpus (IEMOCAP <-> MSP-Podcast): four shared classes; the two
# corpora's codes do not overlap ("neu" vs "N"), so one mapping reads both.
_register(ClassSet(
    "cross4", ("neutral", "angry", "sad", "happy"),
    {**CLASS_SETS["iemocap4"].mapping, **CLASS_SETS["msp4"].mapping},
    ("iemocap", "demo", "msp-podcast", "demo-msp"),
    "triantafyllopoulos2022: IEMOCAP + MSP-Podcast (and their demo stand-ins)"))

# triantafyllopoulos2022 dimensional tasks (Tables 2-6): every utterance with its arousal,
# valence and dominance ratings, whatever its category (the paper is silent; its dimensional
# models are not restricted to the four classes). The "classes" are the corpora's own codes:
# this set selects rows for continuous targets and is not meant for classification.
_IEMOCAP_CODES = ("neu", "fru", "ang", "sad", "hap", "exc", "sur", "fea", "dis", "oth", "xxx")
_MSP_CODES = tuple("N A S H U F D C O X".split())
_register(ClassSet(
    "cross-dims", _IEMOCAP_CODES + _MSP_CODES,
    {c: c for c in _IEMOCAP_CODES + _MSP_CODES},
    ("iemocap", "demo", "msp-podcast", "demo-msp"),
    "triantafyllopoulos2022 dimensional tasks: every IEMOCAP / MSP-Podcast category"))


# --------------------------------------------------------------------------------------------
# Class sets derived from another (the levels of a hierarchy, alqurashi2024 Sec. II-A)
# --------------------------------------------------------------------------------------------
# Derived sets live apart from CLASS_SETS: they are made on demand and never listed among the
# sets a user picks from.
DERIVED: dict[str, ClassSet] = {}


def _derive(class_set: ClassSet) -> None:
    DERIVED.setdefault(class_set.name, class_set)


def one_vs_rest(base: str, keep: str, rest: str = "emotional") -> str:
    """``<base>/<keep>-vs-<rest>``: ``keep`` against every other class of ``base`` merged into
    ``rest`` (Model 1 of a hierarchy: neutral vs emotional). Registered on first use; returns
    its name."""
    name = f"{base}/{keep}-vs-{rest}"
    if name not in DERIVED:
        parent = get_class_set(base)
        if keep not in parent.classes or rest in parent.classes:
            raise ValueError(f"class set {name}: {keep!r} must be a class of {base} "
                             f"{parent.classes} and {rest!r} must not")
        _derive(ClassSet(name, (keep, rest),
                           {c: keep if v == keep else rest for c, v in parent.mapping.items()},
                           parent.corpora, f"{base} with every class but {keep} as {rest}"))
    return name


def without(base: str, drop: str) -> str:
    """``<base>/without-<drop>``: ``base`` less one class, whose codes leave the set (Model 2
    of a hierarchy is trained on the emotional samples only). Registered on first use."""
    name = f"{base}/without-{drop}"
    if name not in DERIVED:
        parent = get_class_set(base)
        if drop not in parent.classes or parent.num_classes < 3:
            raise ValueError(f"class set {name}: {drop!r} must be one of at least three "
                             f"classes of {base} {parent.classes}")
        _derive(ClassSet(name, tuple(c for c in parent.classes if c != drop),
                           {c: v for c, v in parent.mapping.items() if v != drop},
                           parent.corpora, f"{base} without {drop}"))
    return name


def get_class_set(name: str) -> ClassSet:
    if name in CLASS_SETS:
        return CLASS_SETS[name]
    if name not in DERIVED and "/" in name:  # a derived set named in a saved config
        base, _, spec = name.partition("/")
        try:
            if spec.startswith("without-"):
                without(base, spec[len("without-"):])
            elif "-vs-" in spec:
                keep, rest = spec.split("-vs-", 1)
                one_vs_rest(base, keep, rest)
        except ValueError:
            pass  # not derivable: reported as an unknown class set just below
    try:
        return DERIVED[name]
    except KeyError:
        raise ValueError(f"unknown class set {name!r}; known: {', '.join(sorted(CLASS_SETS))}")\
            from None
