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


# ho2020 Sec. IV-A / Table 3; alqurashi2024; triantafyllopoulos2022: excited merged into happy.
_register(ClassSet(
    "iemocap4", ("neutral", "angry", "sad", "happy"),
    {"neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy"},
    _IEMOCAP_LIKE, "ho2020 Sec. IV-A: four emotions (neutral, angry, sad, happy/excited)"))
# ho2020 Sec. IV-A / Table 4: eight emotions, disgust and other dropped (too few samples).
_register(ClassSet(
    "iemocap8", ("neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"),
    {"neu": "neutral", "fru": "frustrated", "ang": "angry", "sad": "sad", "hap": "happy",
     "sur": "surprise", "exc": "excited", "fea": "fear"},
    _IEMOCAP_LIKE, "ho2020 Sec. IV-A: eight emotions; disgust and other dropped"))


def get_class_set(name: str) -> ClassSet:
    try:
        return CLASS_SETS[name]
    except KeyError:
        raise ValueError(f"unknown class set {name!r}; known: {', '.join(sorted(CLASS_SETS))}")\
            from None
