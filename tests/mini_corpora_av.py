"""Miniature MELD, MSP-Podcast and CMU-MOSEI trees, built in code, with the real layouts and
their quirks (counts are hand-counted in test_corpora_av.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

MELD_HEADER = ("Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,"
               "Episode,StartTime,EndTime\n")


def tone(seconds=0.5, rate=16000, amplitude=0.3, freq=440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, seconds=0.5, rate=16000, channels=1, freq=440.0, signal=None):
    x = tone(seconds, rate, freq=freq) if signal is None else signal
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, rate,
             subtype="PCM_16")


def write_mp4(path: Path, seconds=0.5, rate=16000, channels=2, video=False,
              freq=440.0) -> Path:
    """An mp4 holding an AAC tone (and, with ``video``, a tiny mpeg4 video stream first)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w") as container:
        vstream = None
        if video:
            vstream = container.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 16, 16, "yuv420p"
        astream = container.add_stream("aac", rate=rate)
        astream.layout = layout
        if vstream is not None:
            for i in range(int(seconds * 10)):
                image = np.full((16, 16, 3), 20 * i % 255, dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode(None):
                container.mux(packet)
        x = tone(seconds, rate, freq=freq)
        frame = av.AudioFrame.from_ndarray(np.stack([x] * channels), format="fltp",
                                           layout=layout)
        frame.sample_rate = rate
        for packet in astream.encode(frame):
            container.mux(packet)
        for packet in astream.encode(None):
            container.mux(packet)
    return path


def write_corrupt_mp4(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13\x37 not really a movie" * 20)
    return path


# --------------------------------------------------------------------------------------------
# MELD
# --------------------------------------------------------------------------------------------
def build_meld(parent: Path) -> Path:
    """MELD.Raw with 7 train + 3 dev + 3 test CSV rows, and media with every known defect.

    train: 7 CSV rows: dia0 utt0 (clip with a video stream) and utt1 (ok); dia1 utt0 (corrupt
    clip: ok at scan, unreadable_audio at check); dia125 utt3 (known_corrupt); dia2 utt0
    (emotion 'Excited': unknown_label); dia3 utt0 (clip missing: missing_audio); dia4 utt0
    (line in cp1252: ok) + 1 clip without row (dia9_utt9: no_row) = 8 rows.
    dev: 3 rows: dia0 utt0 (ok), dia110 utt7 (missing_audio), dia1 utt0 (empty emotion:
    no_label) + 1 clip without row (dia5_utt1) = 4 rows.
    test: 3 rows: dia0 utt0 (plain name), dia0 utt1 (only final_videos_testdia0_utt1.mp4),
    dia1 utt0 (under both names: the plain one is used) + 1 prefixed clip without row
    (final_videos_testdia7_utt2.mp4) = 4 rows.
    Total 16 rows: 8 ok at scan (train_dia1_utt0 then fails the audio check), 1 known_corrupt,
    1 unknown_label, 2 missing_audio, 1 no_label, 3 no_row.
    """
    root = parent / "MELD.Raw"
    root.mkdir(parents=True)
    train = [
        # Sr No. gaps (1, 2, 5, ...); curly apostrophes; cp1252 byte; odd times.
        (1, "Oh my God, he\u2019s lost it.", "Phoebe", "surprise", "negative", 0, 0, 4, 7,
         "00:20:57,256", "00:21:00,049"),
        (2, "\u201cWhat?\u201d  I\u2018m fine", "Monica", "joy", "positive", 0, 1, 4, 7,
         "0:21:00,049", "0:21:01,300"),
        (5, "But then who? The waitress I went out with last month?", "Joey", "neutral",
         "neutral", 1, 0, 3, 19, "00:14:38,270", "00:14:40,648"),
        (9, "You know what?", "Chandler", "anger", "negative", 125, 3, 1, 1,
         "0:01:00,000", "0:01:01,000"),
        (10, "Whee!", "Rachel", "Excited", "positive", 2, 0, 2, 2, "00:00:01,000",
         "00:00:02,000"),
        (14, "Hey.", "Ross", "sadness", "negative", 3, 0, 2, 3, "00:00:01,000",
         "00:00:02,000"),
    ]
    dev = [
        (1, "Oh, okay.", "Ross", "fear", "negative", 0, 0, 1, 1, "00:00:01,000",
         "00:00:02,000"),
        (3, "Hi!", "Joey", "joy", "positive", 110, 7, 1, 1, "00:00:01,000", "00:00:02,000"),
        (4, "Hmm.", "Monica", "", "neutral", 1, 0, 1, 1, "00:00:01,000", "00:00:02,000"),
    ]
    test = [
        (1, "Why do all you\u2019re coffee mugs have numbers on the bottom?", "Mark",
         "surprise", "positive", 0, 0, 4, 3, "00:14:38,270", "00:14:40,648"),
        (2, "Oh. That\u2019s so Monica can keep track.", "Rachel", "disgust", "negative", 0, 1,
         4, 3, "00:14:40,648", "00:14:42,000"),
        (3, "Yeah.", "Mark", "neutral", "neutral", 1, 0, 4, 3, "00:14:42,000",
         "00:14:43,000"),
    ]
    for name, rows in (("train", train), ("dev", dev), ("test", test)):
        _meld_csv(root / f"{name}_sent_emo.csv", rows)
    # one train line written in cp1252 (MELD's stray bytes): "I\x92m"
    with open(root / "train_sent_emo.csv", "ab") as f:
        f.write(b'15,"I\x92m here",Ross,neutral,neutral,4,0,1,1,"00:00:01,000","00:00:02,000"\n')
    tr, dv, te = (root / "train_splits", root / "dev_splits_complete",
                  root / "output_repeated_splits_test")
    write_mp4(tr / "dia0_utt0.mp4", video=True)
    write_mp4(tr / "dia0_utt1.mp4")
    write_corrupt_mp4(tr / "dia1_utt0.mp4")
    write_corrupt_mp4(tr / "dia125_utt3.mp4")
    write_mp4(tr / "dia2_utt0.mp4")
    write_mp4(tr / "dia4_utt0.mp4")
    write_mp4(tr / "dia9_utt9.mp4")               # no row
    (tr / "._dia0_utt0.mp4").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    write_mp4(dv / "dia0_utt0.mp4")
    write_mp4(dv / "dia1_utt0.mp4")
    write_mp4(dv / "dia5_utt1.mp4")               # no row; dia110_utt7 missing
    write_mp4(te / "dia0_utt0.mp4")
    write_mp4(te / "final_videos_testdia0_utt1.mp4")
    write_mp4(te / "dia1_utt0.mp4")
    write_mp4(te / "final_videos_testdia1_utt0.mp4")   # duplicate of dia1_utt0
    write_mp4(te / "final_videos_testdia7_utt2.mp4")   # no row
    return root


def _meld_csv(path: Path, rows):
    lines = [MELD_HEADER]
    for sr, text, speaker, emotion, sentiment, dia, utt, season, episode, start, end in rows:
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f'{sr},{quoted},{speaker},{emotion},{sentiment},{dia},{utt},{season},'
                     f'{episode},"{start}","{end}"\n')
    path.write_text("".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# MSP-Podcast
# --------------------------------------------------------------------------------------------
MSP_HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"


def build_msp_podcast(parent: Path, label_name="labels_consensus.csv",
                      transcripts=True) -> Path:
    """An MSP-Podcast release: 7 label rows + 1 wav without row = 8 rows.

    0001_0001 A Train (ok); 0001_0002 N Development (ok, Unknown speaker, no transcript);
    0002_0001 H Test1 (ok); 0002_0002 X Test2 (ok); 0003_0001 Q Validation (unknown_label);
    0003_0002 S Test1 (wav missing); 0004_0001 '' Train (no_label); 0009_0001.wav: no row.
    """
    root = parent / "MSP-Podcast"
    labels = root / "Labels"
    labels.mkdir(parents=True)
    rows = [
        ("MSP-PODCAST_0001_0001.wav", "A", "5.2", "2.0", "4.8", "127", "Male", "Train"),
        ("MSP-PODCAST_0001_0002.wav", "N", "4.0", "4.2", "4.0", "Unknown", "Unknown",
         "Development"),
        ("MSP-PODCAST_0002_0001.wav", "H", "4.6", "5.8", "4.4", "33", "Female", "Test1"),
        ("MSP-PODCAST_0002_0002.wav", "X", "3.0", "3.4", "3.2", "33", "Female", "Test2"),
        ("MSP-PODCAST_0003_0001.wav", "Q", "3.0", "3.0", "3.0", "12", "Male", "Validation"),
        ("MSP-PODCAST_0003_0002.wav", "S", "2.0", "2.2", "3.0", "12", "Male", "Test1"),
        ("MSP-PODCAST_0004_0001.wav", "", "4.0", "4.0", "4.0", "5", "Female", "Train"),
    ]
    (labels / label_name).write_text(MSP_HEADER + "".join(",".join(r) + "\n" for r in rows))
    for name, *_ in rows:
        if name != "MSP-PODCAST_0003_0002.wav":
            write_wav(root / "Audios" / name, seconds=0.3)
    write_wav(root / "Audios" / "MSP-PODCAST_0009_0001.wav", seconds=0.3)
    if transcripts:
        (root / "Transcripts").mkdir()
        (root / "Transcripts" / "MSP-PODCAST_0001_0001.txt").write_text(
            "I can't believe\nthis happened.\n")
    return root


# --------------------------------------------------------------------------------------------
# CMU-MOSEI
# --------------------------------------------------------------------------------------------
def build_mosei(parent: Path, folds=True) -> Path:
    """A MOSEI copy: 3 labelled videos (7 segments) + 1 wav without labels = 8 rows.

    vidA (train, 3 segments): [0.5,2.0] happy 1.0 + sad 0.33 -> happy; [2.0,4.0] anger 2 =
      disgust 2 (tie) -> anger; [4.0,5.0] all zero -> none. Transcript for the first two.
    vid_B-1 (valid, 2 segments, given out of time order): [3.0,4.0] fear 0.66 -> fear;
      [1.0,2.0] surprise 0.33, sad 0.33 (tie) -> sad. No transcript.
    vidC (test, 2 segments): wav missing -> missing_audio.
    vidZ.wav: no label -> no_row.
    """
    import h5py

    root = parent / "CMU-MOSEI"
    labels = {
        "vidA": ([[0.5, 2.0], [2.0, 4.0], [4.0, 5.0]],
                 [[1.0, 1.0, 0.33, 0, 0, 0, 0], [-2.0, 0, 0, 2.0, 0, 2.0, 0],
                  [0.0, 0, 0, 0, 0, 0, 0]]),
        "vid_B-1": ([[3.0, 4.0], [1.0, 2.0]],
                    [[-1.0, 0, 0, 0, 0, 0, 0.66], [0.33, 0, 0.33, 0, 0.33, 0, 0]]),
        "vidC": ([[0.0, 1.0], [1.0, 2.0]],
                 [[0.0, 0.33, 0, 0, 0, 0, 0], [0.0, 0, 0, 0.66, 0, 0, 0]]),
    }
    labels_dir = root / "labels"
    labels_dir.mkdir(parents=True)
    with h5py.File(labels_dir / "CMU_MOSEI_Labels.csd", "w") as h5:
        data = h5.create_group("All Labels").create_group("data")
        h5["All Labels"].create_group("metadata")
        for video, (intervals, features) in labels.items():
            group = data.create_group(video)
            group.create_dataset("intervals", data=np.array(intervals, dtype=np.float64))
            group.create_dataset("features", data=np.array(features, dtype=np.float32))
    wavs = root / "Raw" / "Audio" / "Full" / "WAV_16000"
    write_wav(wavs / "vidA.wav", seconds=5.5)
    write_wav(wavs / "vid_B-1.wav", seconds=4.5)
    write_wav(wavs / "vidZ.wav", seconds=1.0)
    transcripts = root / "Raw" / "Transcript" / "Segmented" / "Combined"
    transcripts.mkdir(parents=True)
    (transcripts / "vidA.txt").write_text(
        "vidA___1___0.5___2.0___hello   there friends\n"
        "vidA___2___2.0___4.0___i am NOT happy\n"
        "vidA___7___9.0___10.0___unlabelled segment\n")
    if folds:
        (root / "cmu_mosei_std_folds.py").write_text(
            "standard_train_fold=['vidA', 'vidX']\n"
            "standard_valid_fold=['vid_B-1']\n"
            'standard_test_fold=["vidC",\n "vidY"]\n')
    return root


# --------------------------------------------------------------------------------------------
# Clean miniature releases for end-to-end runs (every clip readable, every class in each split)
# --------------------------------------------------------------------------------------------
MELD_EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
EMOTION_WORDS = {"neutral": "fine ok", "joy": "great happy", "sadness": "sad sorry",
                 "anger": "angry why", "surprise": "what is this", "fear": "no no",
                 "disgust": "terrible that"}


def build_meld_clean(parent: Path, per_split=(3, 2, 2)) -> Path:
    """MELD.Raw with ``per_split`` (train, dev, test) utterances per emotion, each a clip whose
    tone pitch and words follow its emotion (a model can learn them)."""
    root = parent / "MELD.Raw"
    root.mkdir(parents=True)
    folders = {"train": "train_splits", "dev": "dev_splits_complete",
               "test": "output_repeated_splits_test"}
    for (part, folder), count in zip(folders.items(), per_split):
        rows, sr = [], 1
        for k, emotion in enumerate(MELD_EMOTIONS):
            for j in range(count):
                dia, utt = k, j
                rows.append((sr, f"{EMOTION_WORDS[emotion]} {'yes' if j % 2 else 'the'}",
                             "Ross", emotion, "neutral", dia, utt, 1, 1, "00:00:01,000",
                             "00:00:02,000"))
                write_mp4(root / folder / f"dia{dia}_utt{utt}.mp4", seconds=0.4,
                          freq=200.0 + 150.0 * k)
                sr += 1
        _meld_csv(root / f"{part}_sent_emo.csv", rows)
    return root


MOSEI_EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")


def _pulsing_tone(emotion: int, seconds=1.0, rate=16000) -> np.ndarray:
    """1 s of a tone whose pitch and loudness pulse rate follow the emotion: a steady tone
    is all zeros after the MFCCs' per-utterance mean normalisation, a pulsing one is not."""
    x = tone(seconds, rate, freq=200.0 + 150.0 * emotion)
    t = np.arange(len(x)) / rate
    return (x * (0.55 + 0.45 * np.sin(2 * np.pi * (1.5 + emotion) * t))).astype(np.float32)


def build_mosei_clean(parent: Path, videos=(4, 2, 2), segments=6) -> Path:
    """A MOSEI copy with ``videos`` (train, valid, test) videos of ``segments`` 1-s segments;
    segment k's strongest emotion is (k + video) % 6 (intensity 1..3, a weaker second emotion
    on every other segment), its tone's pitch and pulse follow it, and a transcript names it."""
    import h5py

    root = parent / "CMU-MOSEI"
    (root / "labels").mkdir(parents=True)
    wavs = root / "Raw" / "Audio" / "Full" / "WAV_16000"
    transcripts = root / "Raw" / "Transcript" / "Segmented" / "Combined"
    transcripts.mkdir(parents=True)
    folds = {"train": [], "valid": [], "test": []}
    words = ("great happy", "sad sorry", "angry why", "what is this", "terrible that", "no no")
    with h5py.File(root / "labels" / "CMU_MOSEI_Labels.csd", "w") as h5:
        data = h5.create_group("All Labels").create_group("data")
        h5["All Labels"].create_group("metadata")
        v = 0
        for fold, count in zip(folds, videos):
            for _ in range(count):
                video = f"vid{v:02d}"
                folds[fold].append(video)
                intervals, features, lines, signal = [], [], [], []
                for k in range(segments):
                    emotion = (k + v) % 6
                    scores = np.zeros(6)
                    scores[emotion] = 1.0 + (k % 3)
                    if k % 2:
                        scores[(emotion + 1) % 6] = 1 / 3
                    intervals.append([float(k), float(k + 1)])
                    features.append([0.0, *scores])
                    lines.append(f"{video}___{k}___{k}.0___{k + 1}.0___{words[emotion]}")
                    signal.append(_pulsing_tone(emotion))
                group = data.create_group(video)
                group.create_dataset("intervals", data=np.array(intervals))
                group.create_dataset("features", data=np.array(features, dtype=np.float32))
                write_wav(wavs / f"{video}.wav", signal=np.concatenate(signal))
                (transcripts / f"{video}.txt").write_text("\n".join(lines) + "\n")
                v += 1
    (root / "cmu_mosei_std_folds.py").write_text("".join(
        f"standard_{fold}_fold={ids!r}\n" for fold, ids in folds.items()))
    return root
