"""The built-in demo corpus: a synthetic bimodal emotional speech corpus in the IEMOCAP layout
(and, with ``layout="msp-podcast"``, a second one in the MSP-Podcast layout: see the end).

``generate(root, size, seed)`` synthesises speech with espeak-ng (``data_prep.synth``) and writes
it under ``root`` exactly as the ``IEMOCAP_full_release`` directory is laid out, so the demo is
prepared by the ordinary IEMOCAP adapter and every pitfall of the real release is exercised:

* ``README.txt``, ``Documentation/``, ``Session1`` .. ``Session5``; each session has one female
  and one male actor (10 speakers).
* Dialogs ``Ses01F_impro01``, ``Ses01M_script01_1``... The letter after ``SesNN`` names who wore
  the motion-capture markers, *not* the speaker; the speaker is the letter of the turn
  (``Ses01F_impro01_M002`` is session 1's male actor). Suffixed dialogs exist as in the
  release: ``Ses03M_impro05a``/``Ses03M_impro05b`` and ``Ses05M_script01_1b``. Every dialog
  holds turns of both actors, numbered per speaker (F000, F001..., M000...).
* ``SessionN/dialog/EmoEvaluation/<dialog>.txt``: the header
  ``% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]``, then one block per utterance
  (``[6.2901 - 8.2357]<TAB>id<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``, three ``C-Ex:`` rater lines,
  two ``A-Ex:`` attribute lines). The ``Categorical/``, ``Attribute/`` and ``Self-evaluation/``
  subfolders hold per-rater files in other formats, and Session 2 carries a macOS ``._*.txt``
  junk file: an adapter must read neither.
* ``SessionN/dialog/transcriptions/<dialog>.txt``: ``id [006.2901-008.2357]: text`` lines in
  time order, plus back-channel lines whose id matches no utterance (``..._MXX0``) and tags such
  as ``[LAUGHTER]`` (one utterance's transcript is only ``[LAUGHTER]``).
* ``SessionN/sentences/wav/<dialog>/<utterance>.wav`` (16 kHz mono 16-bit PCM, a slice of the
  dialog recording) and ``SessionN/dialog/wav/<dialog>.wav`` (the whole dialog).

Content. Labels use the IEMOCAP codes (neu hap sad ang exc fru fea sur dis oth xxx): the
4-class set (neu, ang, sad, hap+exc) is the bulk, fru/sur/fea follow, about 9 % are ``xxx`` (the
three raters disagreed; the speech still carries a hidden emotion) and a few are oth/dis. The
emotion drives espeak's pitch, pitch range, rate and volume (anger loud, fast and wide; sadness
slow, low, narrow and quiet; ...), scaled by a random intensity and blurred by per-speaker
voices, pitch/rate offsets and gains and per-utterance jitter, so the acoustic classes overlap.
About half of the transcripts carry emotional wording; the rest are neutral sentences drawn from
one pool shared by all classes. Improvised dialogs have their own text; scripted dialogs replay
the same fixed script (same lines, same order) in every session and corpus, so a text model can
memorise lines across sessions: the text-leakage trap of the real release.

Reproducibility. Everything random is drawn from ``numpy.random.default_rng(seed)`` in one fixed
order, so the same size and seed give a byte-identical corpus. espeak-ng carries hidden state
from one synthesis to the next (see ``data_prep.synth``), hence each session is synthesised in a
fresh Python subprocess with a fixed call sequence; the result does not depend on ``workers``.
The marker ``root/.ser_demo.json`` says ``"complete": false`` while the corpus is written and
``true`` once it is: ``generate`` returns at once when it finds a complete one for the same size,
seed and generator version, and otherwise regenerates from scratch. It never deletes a
``Session1``..``README.txt`` it did not write (a real release given as ``root`` by mistake):
without its marker it refuses with ``FileExistsError``.

The MSP-Podcast layout (``generate(root, size, seed, layout="msp-podcast")``, the CLI's
``ser-prepare demo --layout msp-podcast``; read by the real MSP-Podcast adapter as the store
corpus ``demo-msp``) stands in for MSP-Podcast in cross-corpus runs (triantafyllopoulos2022
trains on IEMOCAP and on MSP-Podcast and tests across them). The same synthesis, planned with
seed ``seed + MSP_SEED_OFFSET`` (1000), so its utterances differ from the IEMOCAP demo's of the
same ``seed`` (and equal, under other names, those of the IEMOCAP demo of seed ``seed + 1000``):

* ``Audios/MSP-PODCAST_<podcast>_<segment>.wav``: each dialog is a "podcast" (numbered from
  9001, far from the release's numbers, in dialog order), each of its turns a segment (0001..
  in time order), its slice of the dialog recording; no ids shared with the IEMOCAP layout.
* ``Labels/labels_consensus.csv``, header ``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,
  Gender,Split_Set``, sorted by FileName. EmoClass: ``MSP_CLASS`` of the demo code (neu N,
  hap and exc H, sad S, ang A, fru C, fea F, sur U, dis D, oth O, xxx X). EmoAct/EmoVal/EmoDom:
  the demo's 1-5 mean ratings mapped linearly onto 1-7 (``to_msp_scale``: 1 -> 1, 3 -> 4,
  5 -> 7), two decimals. SpkrID: ``msp_speaker_id`` (11, 12, ..., 52: session x 10 + 1 for the
  female, 2 for the male actor), all known (no ``Unknown``); Gender Female/Male.
  Split_Set: Train / Development / Test1, speaker-disjoint, as near 60/15/25 % of the segments
  as 10 speakers allow (``_msp_splits``: an exhaustive search that first keeps two speakers,
  both genders and A, H, N, S in every split; in practice 6/2/2 speakers, about 60/20/20 %).
* ``Transcripts/<stem>.txt``: the demo transcript (tags such as ``[LAUGHTER]`` included),
  as the releases since v1.8 have them; ``README.txt`` says what the directory is.
Its marker adds ``"layout": "msp-podcast"`` and ``"plan_seed"``; the IEMOCAP marker is as
before. Corpora are byte-identical for the same size and seed here too.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["SIZES", "EMOTIONS", "SAMPLE_RATE", "MARKER", "GENERATOR_VERSION", "DialogSpec",
           "dialog_specs", "generate", "generate_msp_podcast", "LAYOUTS", "MSP_SEED_OFFSET",
           "MSP_CLASS", "MSP_SPLITS", "msp_speaker_id", "to_msp_scale"]

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
MARKER = ".ser_demo.json"
SAMPLE_RATE = 16000
N_SESSIONS = 5
EMOTIONS = ("neu", "hap", "sad", "ang", "exc", "fru", "fea", "sur", "dis", "oth", "xxx")

#: Layouts ``generate`` writes: the IEMOCAP release's (default) or an MSP-Podcast release's.
LAYOUTS = ("iemocap", "msp-podcast")
#: The MSP-Podcast layout plans its utterances with ``seed + MSP_SEED_OFFSET``.
MSP_SEED_OFFSET = 1000
#: Podcast numbers start above this (9001, 9002...): far from the real release's low numbers.
MSP_PODCAST_BASE = 9000
#: Demo (IEMOCAP) code -> MSP-Podcast EmoClass. Excited joins happy (as iemocap4 merges them);
#: MSP-Podcast has no frustration: it becomes contempt (C), the release's other negative,
#: moderately aroused class; xxx (raters disagreed) becomes X (no agreement).
MSP_CLASS = {"neu": "N", "hap": "H", "exc": "H", "sad": "S", "ang": "A", "fru": "C",
             "fea": "F", "sur": "U", "dis": "D", "oth": "O", "xxx": "X"}
MSP_CLASS_ORDER = ("A", "S", "H", "U", "F", "D", "C", "N", "O", "X")
_MSP_MAIN = ("A", "H", "N", "S")
#: Split_Set values and the share of segments aimed at (speaker-disjoint, see _msp_splits).
MSP_SPLITS = (("Train", 0.60), ("Development", 0.15), ("Test1", 0.25))
MSP_COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender",
               "Split_Set")


def _size(impro: int, script: int, turns: int, description: str) -> dict[str, Any]:
    return {
        "impro_per_session": impro,
        "script_per_session": script,
        "turns_per_dialog": turns,
        "utterances": N_SESSIONS * (impro + script) * turns,
        "description": description,
    }


#: Corpus sizes. Each of the 5 sessions has ``impro_per_session`` improvised and
#: ``script_per_session`` scripted dialogs of ``turns_per_dialog`` turns (Ses03M_impro05 is split
#: into the two dialogs ..05a and ..05b that share its turns), so the corpus has ``utterances``.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": _size(1, 1, 6, "60 utterances, for tests (a few seconds to generate)"),
    "small": _size(2, 2, 22, "440 utterances, the default demo"),
    "medium": _size(4, 4, 38, "1520 utterances"),
}

_SCRIPT_PARTS = ("01_1", "02_1", "03_1", "01_2", "02_2", "03_2", "01_3")
_SCRIPT_LINES = 48  # lines per script part; dialogs play its first turns_per_dialog lines


class DialogSpec(NamedTuple):
    session: int
    name: str  # e.g. "Ses01F_impro01"
    kind: str  # "impro" or "script"
    key: str  # impro number ("01") or script part ("01_1")
    n_turns: int


def dialog_specs(size: str) -> list[DialogSpec]:
    """The dialogs of a size, in generation order (independent of the seed)."""
    spec = _size_spec(size)
    turns = spec["turns_per_dialog"]
    out: list[DialogSpec] = []
    for s in range(1, N_SESSIONS + 1):
        for j in range(spec["impro_per_session"]):
            num = (2 * (s - 1) + j) % 8 + 1
            letter = "FM"[(s + j + 1) % 2]
            if s == 3 and num == 5:  # the release has Ses03M_impro05a and Ses03M_impro05b
                first = (turns + 1) // 2
                out.append(DialogSpec(s, "Ses03M_impro05a", "impro", "05", first))
                out.append(DialogSpec(s, "Ses03M_impro05b", "impro", "05", turns - first))
                continue
            out.append(DialogSpec(s, f"Ses{s:02d}{letter}_impro{num:02d}", "impro",
                                  f"{num:02d}", turns))
        for j in range(spec["script_per_session"]):
            part = _SCRIPT_PARTS[((s - 1) % 2 + j) % len(_SCRIPT_PARTS)]
            letter = "FM"[(s + j) % 2]
            name = f"Ses{s:02d}{letter}_script{part}"
            if s == 5 and part == "01_1":  # ... and Ses05M_script01_1b
                name = "Ses05M_script01_1b"
            out.append(DialogSpec(s, name, "script", part, turns))
    return out


def _size_spec(size: str) -> dict[str, Any]:
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    spec = SIZES[size]
    if spec["turns_per_dialog"] > _SCRIPT_LINES or spec["turns_per_dialog"] < 4:
        raise ValueError(f"turns_per_dialog must be within 4..{_SCRIPT_LINES}")
    return spec


# --------------------------------------------------------------------------------------------
# Emotions: label distribution, prosody, ratings
# --------------------------------------------------------------------------------------------

# Prior of the (hidden) emotion of a turn; "xxx" is added on top (raters disagreed).
_PRIOR = {"neu": 0.27, "hap": 0.09, "exc": 0.13, "ang": 0.15, "sad": 0.15, "fru": 0.13,
          "sur": 0.035, "fea": 0.025, "dis": 0.008, "oth": 0.012}
_P_XXX = 0.09
# Improvisation scenarios (as in IEMOCAP: a waiting line, a deployment, an engagement...).
_IMPRO_THEMES = {
    "01": {"fru": 3, "ang": 2, "neu": 2}, "02": {"sad": 3, "fea": 1, "neu": 1},
    "03": {"exc": 3, "hap": 2, "sur": 1}, "04": {"sad": 2, "fru": 2, "neu": 1},
    "05": {"ang": 3, "fru": 2, "sur": 1}, "06": {"sad": 3, "neu": 1},
    "07": {"exc": 2, "hap": 3}, "08": {"ang": 2, "fru": 2, "fea": 1},
}
_SCRIPT_THEMES = {
    "01": {"sad": 2, "ang": 2, "neu": 2, "fru": 1},
    "02": {"hap": 2, "exc": 2, "neu": 2, "sur": 1},
    "03": {"ang": 2, "fru": 2, "neu": 2, "sad": 1, "hap": 1},
}
_P_SCRIPT_AS_WRITTEN = 0.75  # a scripted line is performed with its written emotion
_REQUIRED_PER_SESSION = ("neu", "ang", "sad", "hap")
_REQUIRED_PER_CORPUS = ("exc", "fru", "sur", "fea", "xxx", "oth", "dis")

# espeak settings per emotion: pitch (0-100), pitch range (0-100), rate (wpm), volume (0-200).
_PROSODY = {
    "neu": (50, 50, 165, 100), "hap": (62, 72, 182, 118), "exc": (68, 84, 196, 132),
    "sad": (37, 20, 128, 70), "ang": (56, 82, 196, 152), "fru": (51, 62, 178, 122),
    "fea": (68, 28, 206, 90), "sur": (71, 94, 172, 122), "dis": (41, 48, 142, 106),
    "oth": (50, 52, 158, 98),
}
_JITTER = (6.0, 10.0, 13.0, 13.0)
_LIMITS = ((0, 99), (0, 100), (95, 330), (30, 190))

_CATEGORY = {"neu": "Neutral", "hap": "Happiness", "sad": "Sadness", "ang": "Anger",
             "exc": "Excited", "fru": "Frustration", "fea": "Fear", "sur": "Surprise",
             "dis": "Disgust", "oth": "Other"}
_CONFUSED = {"neu": ("fru", "sad", "hap"), "hap": ("exc", "neu", "sur"),
             "exc": ("hap", "sur", "neu"), "sad": ("neu", "fru", "fea"),
             "ang": ("fru", "dis", "neu"), "fru": ("ang", "neu", "sad"),
             "fea": ("sur", "sad", "fru"), "sur": ("exc", "hap", "fea"),
             "dis": ("ang", "fru", "neu"), "oth": ("neu", "fru", "hap")}
# Mean valence, activation, dominance (1-5) of each emotion.
_VAD = {"neu": (3.0, 2.4, 2.9), "hap": (4.0, 3.0, 3.1), "exc": (4.1, 3.9, 3.4),
        "sad": (1.9, 2.1, 2.2), "ang": (1.7, 3.9, 3.9), "fru": (2.1, 3.2, 3.2),
        "fea": (2.0, 3.4, 2.1), "sur": (3.3, 3.8, 2.9), "dis": (1.8, 3.0, 3.3),
        "oth": (3.0, 2.8, 3.0)}
_COMMENTS = ("(slightly)", "(mild)", "(sarcastic)", "(tired)", "(relieved)", "(annoyed)")
_OTHER_COMMENTS = ("(bored)", "(amused)", "(confused)", "(embarrassed)")

# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

_WORDS = {
    "place": ("office", "station", "kitchen", "library", "airport", "store", "garage", "hotel",
              "bank", "clinic"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"),
    "object": ("keys", "forms", "letter", "bag", "phone", "ticket", "box", "umbrella", "laptop",
               "folder"),
    "person": ("my sister", "your brother", "the manager", "Mister Brown", "my mother",
               "the teacher", "our neighbor", "Doctor Lee", "your cousin"),
    "topic": ("schedule", "budget", "plan", "paperwork", "rent", "insurance", "parking"),
    "time": ("noon", "nine thirty", "three o'clock", "eight", "half past four", "ten"),
    "document": ("form", "report", "application", "notice", "receipt", "contract"),
    "vehicle": ("bus", "train", "car", "subway", "shuttle"),
    "thing": ("the wedding", "the trip", "the new job", "the house", "the baby", "the party",
              "the game", "the offer"),
    "happy": ("happy", "glad", "pleased", "delighted"),
    "lovely": ("lovely", "wonderful", "sweet", "beautiful"),
    "amazing": ("amazing", "incredible", "fantastic", "awesome"),
    "prize": ("tickets", "apartment", "contract", "scholarship", "job"),
    "sad": ("sad", "empty", "lonely", "hopeless", "heartbroken"),
    "angry": ("angry", "furious", "mad", "livid"),
    "ridiculous": ("ridiculous", "outrageous", "unacceptable", "insulting"),
    "annoying": ("annoying", "tiring", "pointless", "irritating"),
    "duration": ("two hours", "forty minutes", "all morning", "three weeks"),
    "noise": ("noise", "sound", "scream", "knock"),
    "food": ("soup", "fish", "milk", "sandwich"),
}

_NEUTRAL = (
    "I went to the {place} on {day}.",
    "Did you bring the {object} from the {place}?",
    "We should talk to {person} about the {topic}.",
    "The {object} is still in the {place}.",
    "I have to call {person} on {day}.",
    "Can you pass me the {object}?",
    "Let me check the {topic} first.",
    "The meeting is at {time}.",
    "She said the {object} is in the {place}.",
    "I think it starts at {time}.",
    "We need to fill out the {document}.",
    "He works at the {place} downtown.",
    "Do you want to take the {vehicle}?",
    "I'll be at the {place} around {time}.",
    "The {document} is due on {day}.",
    "They moved the {object} to the {place}.",
    "{person} lives near the {place}.",
    "Where did you put the {object}?",
    "It's about twenty minutes from here.",
    "I read about it in the {document}.",
    "So you were at the {place} with {person}?",
    "Tell me again what {person} said.",
    "I left the {object} in the {vehicle}.",
    "We can go over the {topic} on {day}.",
)

_CUES = {
    "neu": ("Okay, I see what you mean.", "Sure, that sounds fine.", "Alright, we can do that.",
            "Fine, let me know on {day}.", "Okay, I'll take care of the {document}."),
    "hap": ("I'm so {happy} about {thing}.", "That's {lovely}, thank you so much.",
            "You always make me smile.", "What a {lovely} day this is.",
            "I'm really {happy} you came home.", "I love it, it's {lovely}."),
    "exc": ("Oh my gosh, we got the {prize}!", "This is {amazing}, I can't wait!",
            "Yes! We finally did it!", "I'm so excited about {thing}!",
            "Let's go celebrate tonight!", "That's {amazing} news, tell everyone!"),
    "sad": ("I really miss {person}.", "I feel so {sad} since {thing}.",
            "Nothing is the same without you.", "I don't know how to go on.",
            "It hurts so much, I'm sorry.", "I just wanted you to stay."),
    "ang": ("I'm so {angry} at you right now!", "How dare you talk to me like that!",
            "Get out, I don't want to see you!", "This is {ridiculous}, I've had it!",
            "Don't you ever touch my {object} again!", "You lied to me again!"),
    "fru": ("Why does this always happen to me?", "I've been waiting for {duration} already.",
            "This {document} is so {annoying}.", "I've told you three times already.",
            "Come on, just fix the {object}.", "Nobody ever listens to me here."),
    "fea": ("I'm scared, did you hear that {noise}?", "Please don't leave me alone.",
            "What if something happens to {person}?", "I'm afraid to go back there.",
            "Somebody is following us, hurry!"),
    "sur": ("Wow, really? I had no idea!", "What? You did {thing} already?",
            "No way, are you serious?", "I can't believe it, {person} is here?",
            "Oh! I didn't expect that at all."),
    "dis": ("Ugh, that is disgusting.", "That {food} smells horrible.",
            "Gross, I can't even look at it.", "Eww, get that {food} away from me."),
    "oth": ("Hmm, well, I suppose so.", "Whatever, it doesn't matter.",
            "I guess we'll see."),
}
_P_CUE = 0.5  # transcripts with emotional wording
_P_MISLEADING = 0.06  # ... of which some carry the wording of a confusable emotion
_BACKCHANNELS = ("Mm-hmm.", "Yeah.", "Uh-huh.", "Right.", "[BREATHING]")
_TAG_SPEECH = {"LAUGHTER": "ha ha", "BREATHING": ",", "GARBAGE": ","}

_FEMALE_VOICES = ("f1", "f2", "f3", "f4", "f5")
_MALE_VOICES = ("m1", "m3", "m4", "m6", "m7")

# The bytes of a macOS AppleDouble file (what copying the release off a Mac leaves behind).
_APPLEDOUBLE = (
    b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\t\x00\x00\x00"
    b"2\x00\x00\x00\xa3\x00\x00\x00\x02\x00\x00\x00\xd5\x00\x00\x02\xff\xfe\x00\x00\x00\x00"
    b"TEXTttxt\x01\x00\x80\x9c\xff\xd8\x00\x00ATTR\x00\x00\x00\x00\x00\x00\x02\xff\x00\x00"
    + bytes(range(256))
)


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _sample(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _fill(rng: np.random.Generator, template: str) -> str:
    text = re.sub(r"\{(\w+)\}", lambda m: _pick(rng, _WORDS[m.group(1)]), template)
    return text[0].upper() + text[1:]


def _compose(rng: np.random.Generator, emotion: str, p_cue: float = _P_CUE) -> str:
    """A sentence whose wording carries ``emotion`` with probability ``p_cue``."""
    if rng.random() < p_cue:
        cue = emotion
        if rng.random() < _P_MISLEADING:
            cue = _pick(rng, _CONFUSED[emotion])
        return _fill(rng, _pick(rng, _CUES[cue]))
    return _fill(rng, _pick(rng, _NEUTRAL))


def _spoken(text: str) -> str:
    """What espeak says for a transcript: tags become a laugh or a pause."""
    said = re.sub(r"\[(\w+)\]", lambda m: _TAG_SPEECH.get(m.group(1), ","), text)
    said = re.sub(r"\s+", " ", said).strip(" ,")
    return said or "hmm"


def _script(part: str) -> list[tuple[str, str, str]]:
    """The fixed lines of a script part: (role F/M, written emotion, text). Seed-independent."""
    rng = np.random.default_rng(zlib.crc32(f"ser-keras demo script {part}".encode()))
    theme = _SCRIPT_THEMES[part[:2]]
    lines = []
    role = _pick(rng, "FM")
    for i in range(_SCRIPT_LINES):
        if i > 0 and (i == 1 or rng.random() < 0.9):
            role = "M" if role == "F" else "F"
        emotion = _sample(rng, theme)
        lines.append((role, emotion, _compose(rng, emotion, p_cue=0.6)))
    return lines


# --------------------------------------------------------------------------------------------
# Planning: every random draw, in one fixed order
# --------------------------------------------------------------------------------------------

def _mix(a: dict[str, float], b: dict[str, float], wa: float) -> dict[str, float]:
    sa, sb = sum(a.values()), sum(b.values())
    keys = list(a) + [k for k in b if k not in a]
    return {k: wa * a.get(k, 0) / sa + (1 - wa) * b.get(k, 0) / sb for k in keys}


def _repair(rng: np.random.Generator, turns: list[dict], sessions: list[int]) -> None:
    """Make every session hold the 4-class codes and the corpus every other code."""

    def relabel(candidates: list[dict], code: str) -> None:
        t = candidates[int(rng.integers(len(candidates)))]
        t["label"] = code
        if code != "xxx":
            t["hidden"] = code

    for s in sessions:
        mine = [t for t in turns if t["session"] == s]
        for code in _REQUIRED_PER_SESSION:
            labels = [t["label"] for t in mine]
            if code in labels:
                continue
            spare = [t for t in mine if not (t["label"] in _REQUIRED_PER_SESSION
                                              and labels.count(t["label"]) < 2)]
            relabel([t for t in spare if t["kind"] == "impro"] or spare, code)
    for code in _REQUIRED_PER_CORPUS:
        labels = [t["label"] for t in turns]
        if code in labels:
            continue
        spare = []
        for t in turns:
            session_labels = [u["label"] for u in turns if u["session"] == t["session"]]
            if t["label"] in _REQUIRED_PER_SESSION and session_labels.count(t["label"]) < 2:
                continue
            if t["label"] in _REQUIRED_PER_CORPUS and labels.count(t["label"]) < 2:
                continue
            spare.append(t)
        relabel([t for t in spare if t["kind"] == "impro"] or spare, code)


def _prosody(rng, hidden, label, speaker) -> dict[str, int]:
    neutral = np.array(_PROSODY["neu"], dtype=np.float64)
    target = np.array(_PROSODY[hidden], dtype=np.float64)
    intensity = rng.uniform(0.55, 1.0) * (0.6 if label == "xxx" else 1.0)
    values = neutral + intensity * (target - neutral) + rng.normal(0.0, _JITTER)
    values += np.array([speaker["pitch"], 0.0, speaker["rate"], 0.0])
    out = [int(np.clip(round(v), lo, hi)) for v, (lo, hi) in zip(values, _LIMITS)]
    return dict(zip(("pitch", "pitch_range", "rate", "volume"), out))


def _ratings(rng, label, hidden, cat_raters, atr_raters
             ) -> tuple[list[str], list[str], list[float]]:
    """Rater lines "C-Ex:" (the majority gives ``label``; none for xxx), "A-Ex:" and mean VAD."""
    cat_lines = []
    if label == "xxx":
        others = list(_CONFUSED[hidden])
        first = int(rng.integers(3))
        second = (first + 1 + int(rng.integers(2))) % 3
        votes = [[hidden], [others[first]], [others[second]]]
        votes = [votes[i] for i in rng.permutation(3)]
    else:
        agree = 3 if rng.random() < 0.5 else 2
        votes = [[label] for _ in range(agree)]
        if agree == 3 and rng.random() < 0.25:
            votes[int(rng.integers(3))].append(_pick(rng, _CONFUSED[label]))
        if agree == 2:
            votes.insert(int(rng.integers(3)), [_pick(rng, _CONFUSED[label])])
    for rater, codes in zip(cat_raters, votes):
        names = "".join(f"{_CATEGORY[c]}; " for c in codes).rstrip()
        if "oth" in codes:
            comment = _pick(rng, _OTHER_COMMENTS)
        else:
            comment = _pick(rng, _COMMENTS) if rng.random() < 0.1 else "()"
        cat_lines.append(f"C-{rater}:\t{names}\t{comment}")
    mean = np.array(_VAD[hidden])
    scores = np.clip(np.rint(mean + rng.normal(0.0, 0.6, size=(len(atr_raters), 3))), 1, 5)
    atr_lines = [f"A-{rater}:\tval {int(v)}; act {int(a)}; dom  {int(d)};\t()"
                 for rater, (v, a, d) in zip(atr_raters, scores)]
    vad = [float(x) for x in scores.mean(axis=0)]
    return cat_lines, atr_lines, vad


def _plan(size: str, seed: int) -> list[dict[str, Any]]:
    """The whole corpus as plain data (JSON-serialisable); audio is rendered from it."""
    rng = np.random.default_rng(seed)
    specs = dialog_specs(size)
    scripts = {part: _script(part) for part in sorted({d.key for d in specs if d.kind == "script"})}
    female = [_FEMALE_VOICES[i] for i in rng.permutation(len(_FEMALE_VOICES))]
    male = [_MALE_VOICES[i] for i in rng.permutation(len(_MALE_VOICES))]
    speakers = {}
    for s in range(1, N_SESSIONS + 1):
        for letter, voices in (("F", female), ("M", male)):
            speakers[(s, letter)] = {
                "voice": f"en-us+{voices[s - 1]}",
                "pitch": float(rng.normal(0.0, 5.0)),
                "rate": float(rng.normal(0.0, 10.0)),
                "gain": float(np.exp(rng.normal(0.0, 0.15))),
            }

    # 1. Who speaks when, and the emotion of each turn.
    dialogs, turns = [], []
    for d in specs:
        entries = []
        if d.kind == "impro":
            role = _pick(rng, "FM")
            prior = _mix(_PRIOR, _IMPRO_THEMES[d.key], 0.5)
            for i in range(d.n_turns):
                if i > 0 and (i == 1 or rng.random() < 0.85):
                    role = "M" if role == "F" else "F"
                hidden = _sample(rng, prior)
                entries.append({"role": role, "hidden": hidden, "line": None})
        else:
            for i, (role, written, _text) in enumerate(scripts[d.key][: d.n_turns]):
                hidden = written if rng.random() < _P_SCRIPT_AS_WRITTEN else _sample(rng, _PRIOR)
                entries.append({"role": role, "hidden": hidden, "line": i})
        for e in entries:
            e.update(session=d.session, kind=d.kind, dialog=d.name,
                     label="xxx" if rng.random() < _P_XXX else e["hidden"])
            turns.append(e)
        dialogs.append((d, entries))
    _repair(rng, turns, list(range(1, N_SESSIONS + 1)))

    # 2. Words, prosody, ratings and timing.
    forced_laugh = next((t for t in turns if t["kind"] == "impro" and t["label"] in ("hap", "exc")),
                        None)
    sessions = []
    for s in range(1, N_SESSIONS + 1):
        session = {"session": s, "noise_rms": float(10 ** (rng.uniform(-62, -50) / 20)),
                   "dialogs": [], "junk": None}
        for d, entries in dialogs:
            if d.session != s:
                continue
            raters = [f"E{i + 1}" for i in sorted(rng.choice(6, size=5, replace=False))]
            cat_raters, atr_raters = raters[:3], raters[3:]
            counters = {"F": 0, "M": 0}
            out_turns = []
            for e in entries:
                speaker = speakers[(s, e["role"])]
                utt = f"{d.name}_{e['role']}{counters[e['role']]:03d}"
                counters[e["role"]] += 1
                if e["kind"] == "script":
                    text = scripts[d.key][e["line"]][2]
                else:
                    p_cue = _P_CUE
                    if e["label"] == "xxx" or e["hidden"] == "oth":
                        p_cue = 0.35 if e["label"] == "xxx" else 0.3
                    text = _compose(rng, e["hidden"], p_cue)
                    if e["hidden"] in ("hap", "exc") and rng.random() < 0.12:
                        text = text + " [LAUGHTER]"
                    elif e["hidden"] in ("sad", "fea") and rng.random() < 0.1:
                        text = "[BREATHING] " + text
                    elif rng.random() < 0.02:
                        text = text + " [GARBAGE]"
                if e is forced_laugh:
                    text = "[LAUGHTER]"
                cat_lines, atr_lines, vad = _ratings(rng, e["label"], e["hidden"], cat_raters,
                                                     atr_raters)
                turn = {
                    "utt": utt, "speaker": e["role"], "label": e["label"], "hidden": e["hidden"],
                    "text": text,
                    "spoken": "ha ha ha ha" if text == "[LAUGHTER]" else _spoken(text),
                    "voice": speaker["voice"], "gain": speaker["gain"],
                    "espeak_seed": int(rng.integers(2**31)),
                    **_prosody(rng, e["hidden"], e["label"], speaker),
                    "pad_pre": float(rng.uniform(0.05, 0.25)),
                    "pad_post": float(rng.uniform(0.08, 0.3)),
                    "gap": float(rng.uniform(0.1, 0.9)),
                    "cat_lines": cat_lines, "atr_lines": atr_lines, "vad": vad,
                    "backchannel": None,
                }
                out_turns.append(turn)
            # Back-channel lines (ids that match no utterance): every impro, some scripts.
            if d.kind == "impro" or rng.random() < 0.3:
                k = int(rng.integers(len(out_turns) - 1))
                t = out_turns[k]
                t["gap"] = float(rng.uniform(1.0, 1.5))
                t["backchannel"] = {
                    "name": f"{d.name}_{'M' if t['speaker'] == 'F' else 'F'}XX0",
                    "text": _pick(rng, _BACKCHANNELS),
                    "offset": 0.25, "length": float(rng.uniform(0.3, 0.6)),
                }
            session["dialogs"].append({
                "name": d.name, "kind": d.kind, "lead_in": float(rng.uniform(0.8, 2.5)),
                "noise_seed": int(rng.integers(2**31)), "cat_raters": cat_raters,
                "atr_raters": atr_raters, "turns": out_turns,
            })
        if s == 2:
            impro = [dd["name"] for dd in session["dialogs"] if dd["kind"] == "impro"]
            session["junk"] = f"._{(impro or [session['dialogs'][0]['name']])[0]}.txt"
        sessions.append(session)
    return sessions


# --------------------------------------------------------------------------------------------
# Rendering (runs in a fresh subprocess per session)
# --------------------------------------------------------------------------------------------

def _trim(x: np.ndarray, threshold: float = 0.004, margin: int = 160) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return x
    return x[max(loud[0] - margin, 0): loud[-1] + margin + 1]


def _write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def _render_dialog(synth, dialog: dict[str, Any], noise_rms: float
                   ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The dialog recording (16-bit PCM) and each turn's (start, end) sample span in it."""
    sr = SAMPLE_RATE
    segments = []
    for t in dialog["turns"]:
        speech = synth.synthesize(t["spoken"], voice=t["voice"], rate=t["rate"],
                                  pitch=t["pitch"], pitch_range=t["pitch_range"],
                                  volume=t["volume"], out_rate=sr, seed=t["espeak_seed"])
        speech = _trim(speech) * np.float32(t["gain"])
        segments.append(np.concatenate([
            np.zeros(round(t["pad_pre"] * sr), np.float32), speech,
            np.zeros(round(t["pad_post"] * sr), np.float32)]))
    spans, pos = [], round(dialog["lead_in"] * sr)
    for t, seg in zip(dialog["turns"], segments):
        spans.append((pos, pos + len(seg)))
        pos += len(seg) + round(t["gap"] * sr)
    mix = np.zeros(pos + sr, np.float64)
    for (a, b), seg in zip(spans, segments):
        mix[a:b] += seg
    noise = np.random.default_rng(dialog["noise_seed"]).normal(0.0, noise_rms, mix.size)
    pcm = np.clip(np.rint((mix + noise) * 32767.0), -32768, 32767).astype(np.int16)
    return pcm, spans


def _render_session(root: Path, session: dict[str, Any]) -> None:
    from data_prep.synth import EspeakSynthesizer

    synth = EspeakSynthesizer()
    sr = SAMPLE_RATE
    base = root / f"Session{session['session']}"
    emo_dir = base / "dialog" / "EmoEvaluation"
    for sub in ("Categorical", "Attribute", "Self-evaluation"):
        (emo_dir / sub).mkdir(parents=True, exist_ok=True)
    (base / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
    (base / "dialog" / "wav").mkdir(parents=True, exist_ok=True)

    for dialog in session["dialogs"]:
        name = dialog["name"]
        pcm, spans = _render_dialog(synth, dialog, session["noise_rms"])
        _write_wav(base / "dialog" / "wav" / f"{name}.wav", pcm)
        wav_dir = base / "sentences" / "wav" / name
        wav_dir.mkdir(parents=True, exist_ok=True)

        blocks, transcript, cat, atr, selfev = [], [], {}, {}, []
        for t, (a, b) in zip(dialog["turns"], spans):
            _write_wav(wav_dir / f"{t['utt']}.wav", pcm[a:b])
            start, end = a / sr, b / sr
            v, ac, d = t["vad"]
            blocks.append("\n".join([
                f"[{start:.4f} - {end:.4f}]\t{t['utt']}\t{t['label']}\t"
                f"[{v:.4f}, {ac:.4f}, {d:.4f}]",
                *t["cat_lines"], *t["atr_lines"]]))
            transcript.append(f"{t['utt']} [{start:08.4f}-{end:08.4f}]: {t['text']}")
            bc = t["backchannel"]
            if bc is not None:
                bs = end + bc["offset"]
                be = bs + bc["length"]
                transcript.append(f"{bc['name']} [{bs:08.4f}-{be:08.4f}]: {bc['text']}")
            for line in t["cat_lines"]:
                rater, rest = line.split(":\t", 1)
                names, comment = rest.split("\t")
                cat.setdefault(rater[2:], []).append(f"{t['utt']} :{names} {comment}")
            for line in t["atr_lines"]:
                rater, rest = line.split(":\t", 1)
                values, comment = rest.split("\t")
                atr.setdefault(rater[2:], []).append(f"{t['utt']} :{values} {comment}")
            selfev.append(f"{t['utt']}\t{t['speaker']}\tself={_CATEGORY.get(t['hidden'], 'Other')}"
                          f"\tconfidence={1 + (len(t['utt']) + len(t['text'])) % 5}")

        header = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
        _write_text(emo_dir / f"{name}.txt", header + "".join(b + "\n\n" for b in blocks))
        _write_text(base / "dialog" / "transcriptions" / f"{name}.txt",
                    "".join(line + "\n" for line in transcript))
        for rater, lines in cat.items():
            _write_text(emo_dir / "Categorical" / f"{name}_{rater.lower()}_cat.txt",
                        "".join(line + "\n" for line in lines))
        for rater, lines in atr.items():
            _write_text(emo_dir / "Attribute" / f"{name}_{rater.lower()}_atr.txt",
                        "".join(line + "\n" for line in lines))
        _write_text(emo_dir / "Self-evaluation" / f"{name}.txt",
                    "# actor self-evaluation (demo)\n" + "".join(line + "\n" for line in selfev))
    if session["junk"]:
        (emo_dir / session["junk"]).write_bytes(_APPLEDOUBLE)


def _render_session_msp(root: Path, session: dict[str, Any]) -> None:
    """The MSP-Podcast layout of one session: each turn's slice of its dialog ("podcast")
    recording as ``Audios/<msp stem>.wav``; the same synthesis calls, in the same order, as
    ``_render_session``."""
    from data_prep.synth import EspeakSynthesizer

    synth = EspeakSynthesizer()
    audios = root / "Audios"
    audios.mkdir(parents=True, exist_ok=True)
    for dialog in session["dialogs"]:
        pcm, spans = _render_dialog(synth, dialog, session["noise_rms"])
        for t, (a, b) in zip(dialog["turns"], spans):
            _write_wav(audios / f"{t['msp']}.wav", pcm[a:b])


_RENDERERS = {"iemocap": _render_session, "msp-podcast": _render_session_msp}


def _worker_main() -> None:
    """Subprocess entry: reads {"root", "session", "layout"} JSON on stdin, renders that
    session in that layout (default: IEMOCAP)."""
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    _RENDERERS[job.get("layout", "iemocap")](Path(job["root"]), job["session"])


def _render_all(root: Path, sessions: list[dict[str, Any]], workers: int | None,
                layout: str = "iemocap") -> None:
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [sys.executable, "-c",
           "from data_prep.corpora.demo import _worker_main; _worker_main()"]

    def run(session: dict[str, Any]) -> None:
        payload = json.dumps({"root": str(root), "session": session,
                              "layout": layout}).encode("utf-8")
        proc = subprocess.run(cmd, input=payload, capture_output=True, env=env)
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["(no output)"]
            raise RuntimeError(f"demo corpus: synthesis of Session{session['session']} failed: "
                               f"{lines[-1]}")

    n = max(1, min(workers or os.cpu_count() or 1, len(sessions)))
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(run, sessions))  # consumed so that a failed session raises here


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

_README = """\
IEMOCAP-layout demo corpus (synthetic) generated by ser-keras
=============================================================

This directory mimics the layout and file formats of IEMOCAP_full_release, but every
recording in it is synthetic speech produced with espeak-ng by data_prep.corpora.demo
(size "{size}", seed {seed}, generator version {version}). It contains no IEMOCAP data.

5 sessions, 2 actors each (one female, one male): {utterances} utterances in {dialogs} dialogs.

  SessionN/dialog/EmoEvaluation/<dialog>.txt   labels (categorical + V/A/D), one block per turn
  SessionN/dialog/transcriptions/<dialog>.txt  transcripts with times
  SessionN/dialog/wav/<dialog>.wav             dialog recordings (16 kHz mono)
  SessionN/sentences/wav/<dialog>/<turn>.wav   utterance recordings (16 kHz mono 16-bit)
"""

_DOCUMENTATION = """\
Demo corpus: annotation conventions
-----------------------------------
Emotion codes: neu (neutral), hap (happiness), sad (sadness), ang (anger), exc (excited),
fru (frustration), fea (fear), sur (surprise), dis (disgust), oth (other),
xxx (no majority among the three categorical evaluators).
Categorical lines "C-Ex:" hold the categories chosen by evaluator x; attribute lines "A-Ex:"
rate valence (val), activation (act) and dominance (dom) from 1 to 5. The bracket after the
label is the average [V, A, D]. Scripted dialogs replay the same script in every session.
The per-evaluator folders Categorical/, Attribute/ and Self-evaluation/ repeat the ratings in
other formats.
"""


_GENERATOR = "ser-keras demo corpus"
_ENTRIES = ["README.txt", "Documentation"] + [f"Session{s}" for s in range(1, N_SESSIONS + 1)]
_LAYOUT_ENTRIES = {"iemocap": _ENTRIES,
                   "msp-podcast": ["README.txt", "Audios", "Labels", "Transcripts"]}


def _read_marker(root: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("generator") == _GENERATOR else None


def _clear(root: Path, layout: str = "iemocap") -> None:
    """Remove what a previous (partial or different) generation left; nothing else.

    Refuses when ``root`` holds entries of the layout without a marker of this generator (a
    real IEMOCAP or MSP-Podcast release, say), so that nothing but the generator's own output
    is ever deleted. With a valid marker, the entries of every layout are removed (a root
    that held the other layout's demo does not end up holding both).
    """
    own = _LAYOUT_ENTRIES[layout]
    present = [name for name in own if (root / name).exists() or (root / name).is_symlink()]
    ours = _read_marker(root) is not None
    if present and not ours:
        raise FileExistsError(
            f"refusing to generate the demo corpus into {root}: it already holds "
            f"{', '.join(present)} not written by the demo generator (no valid {MARKER})"
        )
    entries = list(own)
    if ours:
        entries += [n for names in _LAYOUT_ENTRIES.values() for n in names if n not in entries]
    for name in entries:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _write_marker(root: Path, info: dict[str, Any]) -> None:
    tmp = root / (MARKER + ".tmp")
    _write_text(tmp, json.dumps(info, indent=1) + "\n")
    os.replace(tmp, root / MARKER)


def generate(root: str | os.PathLike[str], size: str = "small", seed: int = 0, *,
             workers: int | None = None, layout: str = "iemocap") -> Path:
    """Write the demo corpus under ``root`` (the equivalent of ``IEMOCAP_full_release/``, or
    with ``layout="msp-podcast"`` of an MSP-Podcast release: see ``generate_msp_podcast``).

    ``size`` is a key of ``SIZES``; the same ``size`` and ``seed`` give a byte-identical corpus.
    Returns at once when ``root`` already holds the complete corpus for this size, seed,
    layout and generator version; otherwise the generated entries (README.txt, Documentation,
    Session1-5; Audios, Labels, Transcripts) are removed and written again (other files in
    ``root`` are left alone; entries not written by this generator raise ``FileExistsError``).
    ``workers`` bounds the synthesis subprocesses (default: the CPU count, at most one per
    session); it does not change the output.
    Raises ``data_prep.synth.EspeakUnavailableError`` when espeak-ng cannot be loaded.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown demo layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    spec = _size_spec(size)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    root = Path(root)
    wanted = {"generator": _GENERATOR, "version": GENERATOR_VERSION, "size": size, "seed": seed}
    plan_seed = seed
    if layout != "iemocap":  # the IEMOCAP marker stays as it was (no "layout" key)
        plan_seed = seed + MSP_SEED_OFFSET
        wanted.update(layout=layout, plan_seed=plan_seed)
    found = _read_marker(root)
    if found is not None and found.get("complete") is True and all(
            found.get(k) == v for k, v in wanted.items()) and found.get(
            "layout", "iemocap") == layout:
        log.info("demo corpus already complete in %s (size %s, seed %d, layout %s)", root,
                 size, seed, layout)
        return root

    from data_prep.synth import espeak_paths

    espeak_paths()  # a clear error now rather than one per subprocess
    sessions = _plan(size, plan_seed)
    _clear(root, layout)
    root.mkdir(parents=True, exist_ok=True)
    _write_marker(root, {**wanted, "complete": False})  # claims the entries while writing them
    n_dialogs = sum(len(s["dialogs"]) for s in sessions)
    if layout == "msp-podcast":
        return _generate_msp(root, size, seed, sessions, wanted, workers)
    _write_text(root / "README.txt", _README.format(size=size, seed=seed, version=GENERATOR_VERSION,
                                                   utterances=spec["utterances"],
                                                   dialogs=n_dialogs))
    (root / "Documentation").mkdir()
    _write_text(root / "Documentation" / "Demo_annotation_conventions.txt", _DOCUMENTATION)
    log.info("synthesising the %s demo corpus (%d utterances) into %s", size,
             spec["utterances"], root)
    _render_all(root, sessions, workers)

    labels: dict[str, int] = {}
    for s in sessions:
        for d in s["dialogs"]:
            for t in d["turns"]:
                labels[t["label"]] = labels.get(t["label"], 0) + 1
    _write_marker(root, {**wanted, "complete": True, "utterances": spec["utterances"],
                         "dialogs": n_dialogs,
                         "labels": {k: labels[k] for k in EMOTIONS if k in labels}})
    return root


def generate_msp_podcast(root: str | os.PathLike[str], size: str = "small", seed: int = 0, *,
                         workers: int | None = None) -> Path:
    """The demo corpus in the MSP-Podcast layout (``generate(..., layout="msp-podcast")``).

    The utterances are planned with ``seed + MSP_SEED_OFFSET`` (so ``seed`` 0 gives other
    utterances than the IEMOCAP-layout demo of seed 0); see the module docstring.
    """
    return generate(root, size, seed, workers=workers, layout="msp-podcast")


# --------------------------------------------------------------------------------------------
# The MSP-Podcast layout
# --------------------------------------------------------------------------------------------

_MSP_README = """\
MSP-Podcast-layout demo corpus (synthetic) generated by ser-keras
=================================================================

This directory mimics the layout and file formats of an MSP-Podcast release (v1.7 and
later), but every recording in it is synthetic speech produced with espeak-ng by
data_prep.corpora.demo (size "{size}", seed {seed}: utterances drawn with seed {plan_seed},
generator version {version}). It contains no MSP-Podcast data.

{utterances} segments of {podcasts} "podcasts" (MSP-PODCAST_<podcast>_<segment>),
{speakers} speakers.
Split_Set is speaker-disjoint:
{splits}

  Labels/labels_consensus.csv   FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set
                                EmoClass A angry, S sad, H happy, U surprise, F fear,
                                D disgust, C contempt, N neutral, O other, X no agreement;
                                EmoAct/EmoVal/EmoDom on 1-7
  Audios/<FileName>             segment recordings (16 kHz mono 16-bit)
  Transcripts/<segment>.txt     transcripts (the release since v1.8; v1.7 had none)
"""


def msp_speaker_id(session: int, role: str) -> str:
    """SpkrID of the demo speaker ``role`` (F/M) of ``session``: 11, 12, 21, ... 52."""
    return str(10 * session + (1 if role == "F" else 2))


def to_msp_scale(rating: float) -> float:
    """A demo rating on IEMOCAP's 1-5 scale mapped linearly onto MSP-Podcast's 1-7 one."""
    return 1.0 + (float(rating) - 1.0) * 6.0 / 4.0


def _msp_splits(turns: list[tuple[str, str, str]]) -> dict[str, str]:
    """SpkrID -> Split_Set from (SpkrID, Gender, EmoClass) per segment: speaker-disjoint.

    Every assignment of the speakers to Train/Development/Test1 is tried (3^10 for the demo's
    10); the chosen one first has at least two speakers, both genders and each of A, H, N, S in
    every split (as far as possible), then the segment shares closest to ``MSP_SPLITS`` (sum of
    absolute differences); ties go to the first in enumeration order, so the split is a function
    of the corpus alone. With 10 speakers of about equal share that is 6/2/2 speakers (one of
    each gender outside Train), about 60/20/20 % of the segments (6/1/3, 60/10/30 %, is as far
    from 60/15/25 and leaves one speaker to validate on).
    """
    speakers = sorted({s for s, _, _ in turns}, key=int)
    if len(speakers) > 12:
        raise ValueError("too many speakers for the exhaustive split search")
    row = {s: i for i, s in enumerate(speakers)}
    kinds = (*_MSP_MAIN, "Female", "Male")  # what every split should hold; then the total
    counts = np.zeros((len(speakers), len(kinds) + 1))
    for speaker, gender, emo_class in turns:
        counts[row[speaker], -1] += 1
        for kind in (gender, emo_class):
            if kind in kinds:
                counts[row[speaker], kinds.index(kind)] += 1
    grid = np.array(list(itertools.product(range(len(MSP_SPLITS)), repeat=len(speakers))))
    missing = np.zeros(len(grid))
    deviation = np.zeros(len(grid))
    for j, (_, share) in enumerate(MSP_SPLITS):
        member = (grid == j).astype(np.float64)
        sums = member @ counts
        missing += (sums[:, :-1] == 0).sum(axis=1) + (member.sum(axis=1) < 2)
        deviation += np.abs(sums[:, -1] / counts[:, -1].sum() - share)
    best = grid[np.lexsort((np.round(deviation, 9), missing))[0]]
    return {s: MSP_SPLITS[j][0] for s, j in zip(speakers, best)}


def _msp_records(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Name every turn's segment (``turn["msp"]``, read by the renderer) and return the rows
    of labels_consensus.csv (plus each segment's transcript), sorted by FileName."""
    records, podcast = [], MSP_PODCAST_BASE
    for session in sessions:
        for dialog in session["dialogs"]:
            podcast += 1
            for k, t in enumerate(dialog["turns"], 1):
                t["msp"] = f"MSP-PODCAST_{podcast:04d}_{k:04d}"
                valence, arousal, dominance = (to_msp_scale(x) for x in t["vad"])
                records.append({
                    "FileName": t["msp"] + ".wav", "EmoClass": MSP_CLASS[t["label"]],
                    "EmoAct": arousal, "EmoVal": valence, "EmoDom": dominance,
                    "SpkrID": msp_speaker_id(session["session"], t["speaker"]),
                    "Gender": {"F": "Female", "M": "Male"}[t["speaker"]],
                    "text": t["text"]})
    splits = _msp_splits([(r["SpkrID"], r["Gender"], r["EmoClass"]) for r in records])
    for r in records:
        r["Split_Set"] = splits[r["SpkrID"]]
    return sorted(records, key=lambda r: r["FileName"])


def _generate_msp(root: Path, size: str, seed: int, sessions: list[dict[str, Any]],
                  wanted: dict[str, Any], workers: int | None) -> Path:
    records = _msp_records(sessions)
    (root / "Labels").mkdir()
    lines = [",".join(MSP_COLUMNS)]
    for r in records:
        lines.append(",".join([r["FileName"], r["EmoClass"], f"{r['EmoAct']:.2f}",
                               f"{r['EmoVal']:.2f}", f"{r['EmoDom']:.2f}", r["SpkrID"],
                               r["Gender"], r["Split_Set"]]))
    _write_text(root / "Labels" / "labels_consensus.csv", "".join(x + "\n" for x in lines))
    (root / "Transcripts").mkdir()
    for r in records:
        _write_text(root / "Transcripts" / (r["FileName"][:-4] + ".txt"), r["text"] + "\n")
    splits: dict[str, int] = {}
    speakers: dict[str, set[str]] = {}
    labels: dict[str, int] = {}
    for r in records:
        splits[r["Split_Set"]] = splits.get(r["Split_Set"], 0) + 1
        speakers.setdefault(r["Split_Set"], set()).add(r["SpkrID"])
        labels[r["EmoClass"]] = labels.get(r["EmoClass"], 0) + 1
    split_text = "\n".join(f"  {name}: {splits.get(name, 0)} segments of "
                           f"{len(speakers.get(name, ()))} speakers" for name, _ in MSP_SPLITS)
    n_podcasts = sum(len(s["dialogs"]) for s in sessions)
    _write_text(root / "README.txt", _MSP_README.format(
        size=size, seed=seed, plan_seed=wanted["plan_seed"], version=GENERATOR_VERSION,
        utterances=len(records), podcasts=n_podcasts,
        speakers=len({r["SpkrID"] for r in records}), splits=split_text))
    log.info("synthesising the %s MSP-Podcast-layout demo corpus (%d segments) into %s", size,
             len(records), root)
    _render_all(root, sessions, workers, layout="msp-podcast")
    _write_marker(root, {**wanted, "complete": True, "utterances": len(records),
                         "podcasts": n_podcasts,
                         "labels": {k: labels[k] for k in MSP_CLASS_ORDER if k in labels},
                         "splits": {name: splits.get(name, 0) for name, _ in MSP_SPLITS}})
    return root
