"""Miniature releases of the simple corpora (URDU, EmoDB, RAVDESS, SAVEE, TESS, CREMA-D,
ASVP-ESD), built in code with each release's real layout and its quirks: 0.2 s tones at the
corpus's own rates, stereo files, a corrupt and an empty wav, odd spellings, names that do not
follow the scheme, macOS ``._`` junk and non-audio files. Counts are asserted by hand in
test_corpora_simple.py; the comments below say what each file is there for."""
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(path: Path, rate=16000, channels=1, seconds=0.2, amplitude=0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * 220 * t)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate, subtype="PCM_16")
    return path


def corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF\x00\x00not really a wav")
    return path


def junk(path: Path) -> Path:
    """A macOS resource-fork file (``._name.wav``): looks like a wav by name only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    return path


def build_urdu(parent: Path) -> Path:
    """8 rows: 7 ok, 1 bad_filename; 3 problems (junk, bad name, letter/folder mismatch)."""
    root = parent / "URDU-Dataset"
    root.mkdir(parents=True)
    (root / "README.md").write_text("# URDU-Dataset\n")
    tone(root / "Angry" / "SM1_F1_A01.wav", 44100)
    tone(root / "Angry" / "SF2_F3_A02.wav", 44100)         # SF2: not the same person as SM2
    junk(root / "Angry" / "._SM1_F1_A01.wav")
    (root / "Angry" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    tone(root / "Happy" / "SM1_F2_H01.wav", 44100)
    tone(root / "Happy" / "clip7.wav", 44100)              # bad_filename
    tone(root / "Neutral" / "SF1_F1_N01.wav", 44100)
    corrupt(root / "Neutral" / "SM3_F01_N002.wav")         # padded numbers; corrupt audio
    tone(root / "Sad" / "SM1_F3_S01.wav", 44100)
    tone(root / "Sad" / "SM2_F1_A05.wav", 44100)           # letter A in Sad/: problem, label sad
    return root


def build_emodb(parent: Path) -> Path:
    """9 rows: 7 ok, 1 unknown_label, 1 bad_filename; 5 problems."""
    root = parent / "emodb"
    wav = root / "wav"
    tone(wav / "03a01Fa.wav")                              # male 03, a01, happiness
    tone(wav / "08b10Wb.wav")                              # female 08, b10, anger
    tone(wav / "10a02Lc.wav", channels=2)                  # stereo
    tone(wav / "16b03Ta.wav")
    corrupt(wav / "11a05Nb.wav")                           # the pipeline's audio check marks it
    tone(wav / "03a01Zx.wav")                              # emotion Z: unknown_label
    tone(wav / "99a01Wa.wav")                              # speaker 99: gender "", problem
    tone(wav / "03a03Ea.wav")                              # text a03 not in the ten: text ""
    tone(wav / "03a01Fa_copy.wav")                         # bad_filename
    junk(wav / "._03a01Fa.wav")
    (wav / "README.txt").write_text("EmoDB\n")
    (root / "lablaut").mkdir()
    (root / "lablaut" / "03a01Fa.lab").write_text("0.0 a\n")
    return root


def build_ravdess(parent: Path) -> Path:
    """8 rows: 4 ok, 1 not_speech, 1 unknown_label, 1 not_audio_only, 1 bad_filename;
    problems: junk, actor/folder mismatch, the 4 statuses, Actor_03..24 missing (22)."""
    root = parent / "Audio_Speech_Actors_01-24"
    a1, a2 = root / "Actor_01", root / "Actor_02"
    tone(a1 / "03-01-05-01-01-01-01.wav", 48000, channels=2)   # stereo, male, angry, "Kids"
    tone(a1 / "03-01-01-01-02-02-01.wav", 48000)               # "Dogs"
    junk(a1 / "._03-01-05-01-01-01-01.wav")
    tone(a2 / "03-01-03-02-01-01-02.wav", 48000)               # female
    tone(a2 / "03-02-04-01-01-01-02.wav", 48000)               # song: not_speech
    tone(a2 / "03-01-09-01-01-01-02.wav", 48000)               # emotion 09: unknown_label
    tone(a2 / "03-01-02-01-01-01-05.wav", 48000)               # actor 05 in Actor_02: problem
    tone(a2 / "01-01-02-01-01-01-02.wav", 48000)               # modality 01: not_audio_only
    tone(a2 / "03-01-02-01-01-01-02 (copy).wav", 48000)        # bad_filename
    (a2 / "01-01-02-01-01-01-02.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return root


def build_savee(parent: Path) -> Path:
    """11 rows: 9 ok, 1 unknown_label, 1 bad_filename; problems: KL missing, junk, x01,
    bad name, unknown folder XX."""
    root = parent / "SAVEE"
    audio = root / "AudioData"
    for name in ("a01", "sa01", "su15", "n30"):
        tone(audio / "DC" / f"{name}.wav", 44100)
    junk(audio / "DC" / "._a01.wav")
    (audio / "DC" / "Thumbs.db").write_bytes(b"\x00")
    tone(audio / "JE" / "a01.wav", 44100, channels=2)          # stem repeats DC's: JE_a01
    tone(audio / "JE" / "h02.wav", 44100)
    tone(audio / "JE" / "x01.wav", 44100)                      # prefix x: unknown_label
    tone(audio / "JE" / "a01 (1).wav", 44100)                  # bad_filename
    tone(audio / "JK" / "d03.wav", 44100)
    corrupt(audio / "JK" / "f04.wav")
    tone(audio / "XX" / "a01.wav", 44100)                      # not a SAVEE speaker
    (root / "AudioVisualClip").mkdir()
    (root / "info.txt").write_text("SAVEE\n")
    return root


def build_tess(parent: Path) -> Path:
    """11 rows (nested one level deeper, as some copies are): 9 ok, 1 unknown_label,
    1 bad_filename; problems: junk, 2 folder/name mismatches, bored, bad name."""
    root = parent / "TESS"
    data = root / "TESS Toronto emotional speech set data"
    tone(data / "OAF_angry" / "OAF_back_angry.wav", 24414)
    junk(data / "OAF_angry" / "._OAF_back_angry.wav")
    tone(data / "OAF_angry" / "OAF_bar_bored.wav", 24414)       # unknown_label
    tone(data / "OAF_angry" / "back.wav", 24414)                # bad_filename
    tone(data / "OAF_Fear" / "OAF_bean_fear.wav", 24414)
    tone(data / "OAF_Pleasant_surprise" / "OAF_back_ps.wav", 24414)
    tone(data / "YAF_pleasant_surprised" / "YAF_back_pleasant_surprised.wav", 24414)
    tone(data / "YAF_disgust" / "YAF_chair_Disgust.wav", 24414)
    tone(data / "YAF_neutral" / "YAF_dog_neutral.wav", 24414, channels=2)
    tone(data / "YAF_sad" / "YAF_date_sad.wav", 24414)
    tone(data / "YAF_happy" / "YAF_door_happy.wav", 24414)
    tone(data / "OAF_Sad" / "OAF_bite_happy.wav", 24414)       # name says happy: problem
    (data / "OAF_Sad" / ".DS_Store").write_bytes(b"\x00")
    (root / "README.txt").write_text("TESS\n")
    return root


DEMOGRAPHICS = ("\ufeffActorID,Age,Sex,Race,Ethnicity\n"
                "1001,51,Male,Caucasian,Not Hispanic\n"
                "1002,21,Female,Caucasian,Not Hispanic\n"
                "1076,25,Female,African American,Not Hispanic\n")


def build_crema_d(parent: Path, demographics=True) -> Path:
    """8 rows: 6 ok, 1 unknown_label, 1 bad_filename; problems: junk, actor 1003 not in the
    csv, sentence ABC, emotion CAL, bad name (and the csv when it is missing)."""
    root = parent / "CREMA-D"
    audio = root / "AudioWAV"
    tone(audio / "1001_DFA_ANG_XX.wav")
    tone(audio / "1001_IEO_HAP_HI.wav", channels=2)
    tone(audio / "1002_TIE_SAD_LO.wav", 44100)
    tone(audio / "1076_MTI_SAD_XX.wav", seconds=0.0)           # empty, as in the release
    tone(audio / "1003_ITS_NEU_XX.wav")                        # not in the csv: gender ""
    tone(audio / "1001_ABC_FEA_MD.wav")                        # unknown sentence: text ""
    tone(audio / "1002_WSI_CAL_XX.wav")                        # unknown_label
    tone(audio / "1001_DFA_ANG_XX_copy.wav")                   # bad_filename
    junk(audio / "._1001_DFA_ANG_XX.wav")
    if demographics:
        (root / "VideoDemographics.csv").write_text(DEMOGRAPHICS, encoding="utf-8")
    return root


STEM = "03-01-06-01-02-01-02-01-02-16"


def build_asvp_esd(parent: Path) -> Path:
    """8 rows: 4 ok, 1 not_speech, 1 unknown_label, 1 not_audio_only, 1 bad_filename;
    problems: junk, the 4 statuses, a stem repeated in two folders."""
    root = parent / "ASVP-ESD-Update"
    audio = root / "Audio"
    tone(audio / "actor_01" / f"{STEM}.wav", 44100)            # 10 fields, actor 01: female
    junk(audio / "actor_01" / f"._{STEM}.wav")
    tone(audio / "actor_02" / "03-01-03-01-05-02-02-03-01.wav", 16000, channels=2)  # 9 fields
    tone(audio / "actor_02" / "03-02-03-01-05-02-02.wav", 16000)    # non-speech (laugh)
    tone(audio / "actor_03" / "03-01-13-02-01-03.wav")              # 6 fields, code 13
    tone(audio / "actor_03" / "03-01-14-01-01-03-02-01-01-77.wav")  # unknown_label
    tone(audio / "actor_04" / f"{STEM}.wav")                        # same stem again
    tone(audio / "actor_04" / "01-01-02-01-01-04.wav")              # not_audio_only
    tone(audio / "actor_04" / "laugh_01.wav")                       # bad_filename
    (root / "README.txt").write_text("ASVP-ESD\n")
    return root
