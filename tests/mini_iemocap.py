"""A miniature IEMOCAP release, built in code, with the real layout and its quirks."""
from pathlib import Path

import numpy as np
import soundfile as sf

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


def _block(start, end, utt, code, vad=(2.5, 3.0, 3.5)):
    return (f"[{start:.4f} - {end:.4f}]\t{utt}\t{code}\t[{vad[0]:.4f}, {vad[1]:.4f}, "
            f"{vad[2]:.4f}]\nC-E2:\tNeutral;\t()\nC-E3:\tNeutral;\t()\n"
            f"A-E3:\tval 3; act 2; dom  2;\t()\n\n")


def _tone(path: Path, seconds=0.5, rate=16000, channels=1, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * 220 * t)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate, subtype="PCM_16")


def _dialog(root: Path, session: int, dialog: str, blocks: list[tuple[str, str]],
            transcripts: dict[str, str], extra_transcript_lines=()):
    labels = root / f"Session{session}" / "dialog" / "EmoEvaluation"
    labels.mkdir(parents=True, exist_ok=True)
    text = HEADER + "".join(_block(i, i + 1.5, u, c) for i, (u, c) in enumerate(blocks))
    (labels / f"{dialog}.txt").write_text(text)
    trans = root / f"Session{session}" / "dialog" / "transcriptions"
    trans.mkdir(parents=True, exist_ok=True)
    lines = [f"{u} [{i:08.4f}-{i + 1.5:08.4f}]: {t}" for i, (u, t) in enumerate(transcripts.items())]
    (trans / f"{dialog}.txt").write_text("\n".join([*lines, *extra_transcript_lines]) + "\n")


def wav(root, session, dialog, utt):
    return root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav"


def build_release(parent: Path) -> Path:
    """A miniature IEMOCAP_full_release under ``parent`` with every trap the adapter handles.

    13 utterance rows: 9 with a usable label, 5 of them with usable audio (hand-counted in
    test_iemocap_adapter.py).
    """
    root = parent / "IEMOCAP_full_release"
    (root / "Documentation").mkdir(parents=True)
    (root / "README.txt").write_text("IEMOCAP\n")
    # Session 1: the speaker trap (marker F, turns of both actors), tags, junk label files.
    d1 = "Ses01F_impro01"
    _dialog(root, 1, d1, [(f"{d1}_F000", "neu"), (f"{d1}_M000", "ang"), (f"{d1}_F001", "xxx"),
                          (f"{d1}_M001", "exc")],
            {f"{d1}_F000": "Excuse me.", f"{d1}_M000": "Do you [LAUGHTER] get it?",
             f"{d1}_F001": "[BREATHING]"},
            extra_transcript_lines=[f"{d1}_MXX0 [010.0000-011.0000]: noise", "garbage line"])
    labels = root / "Session1" / "dialog" / "EmoEvaluation"
    (labels / "Categorical").mkdir()
    (labels / "Categorical" / f"{d1}_e2_cat.txt").write_text(f"{d1}_F000 :Anger; ()\n")
    (labels / f"._{d1}.txt").write_bytes(b"\x00\x05\x16\x07 Mac OS X junk [1.0 - 2.0]")
    (labels / f"{d1}.doc").write_text(_block(0, 1, f"{d1}_F009", "sad"))
    _tone(wav(root, 1, d1, f"{d1}_F000"))
    _tone(wav(root, 1, d1, f"{d1}_M000"), rate=44100, channels=2)   # stereo, other rate
    _tone(wav(root, 1, d1, f"{d1}_F001"))
    # M001 has a label but no wav -> missing_audio; F002 has a wav but no label -> no_label.
    _tone(wav(root, 1, d1, f"{d1}_F002"))
    # Session 2: suffixed scripted dialog, bad audio of every kind, an unknown code.
    d2 = "Ses02M_script01_1b"
    _dialog(root, 2, d2, [(f"{d2}_F000", "hap"), (f"{d2}_M000", "sad"), (f"{d2}_F001", "fru"),
                          (f"{d2}_M001", "zzz"), (f"{d2}_F002", "neu")],
            {f"{d2}_F000": "Hello!", f"{d2}_M000": "", f"{d2}_F001": "Hm.",
             f"{d2}_M001": "What?", f"{d2}_F002": "Fine."})
    _tone(wav(root, 2, d2, f"{d2}_F000"))
    _tone(wav(root, 2, d2, f"{d2}_M000"), seconds=0.0)                # empty
    _tone(wav(root, 2, d2, f"{d2}_F001"), amplitude=0.0)              # silent
    _tone(wav(root, 2, d2, f"{d2}_M001"))
    wav(root, 2, d2, f"{d2}_F002").write_bytes(b"RIFF\x00\x00not really a wav")  # corrupt
    # Session 3: a suffixed improvisation whose label file has a malformed block line.
    d3 = "Ses03M_impro05a"
    _dialog(root, 3, d3, [(f"{d3}_M000", "sad")], {f"{d3}_M000": "Oh no."})
    with open(root / "Session3" / "dialog" / "EmoEvaluation" / f"{d3}.txt", "a") as f:
        f.write(f"[3.0 - oops]\t{d3}_F000\tneu\t[2.5, 2.5]\n")
    _tone(wav(root, 3, d3, f"{d3}_M000"))
    _tone(wav(root, 3, d3, f"{d3}_F000"))
    # Session 4: wavs of a dialog whose label file is missing.
    d4 = "Ses04F_impro02"
    (root / "Session4" / "dialog" / "EmoEvaluation").mkdir(parents=True)
    _tone(wav(root, 4, d4, f"{d4}_F000"))
    # Session 5 is missing entirely.
    return root
