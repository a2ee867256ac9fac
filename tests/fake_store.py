"""A small prepared corpus written straight into the store (no audio, no extraction): ten
IEMOCAP-style speakers, both scenarios, features whose means depend on the class so that
models can learn something. For fast data, training and benchmark tests."""
from __future__ import annotations

import numpy as np

from ser_keras import store

CODES = ("neu", "ang", "sad", "hap", "exc", "fru", "sur", "fea", "xxx")


def make_fake_store(root, corpus: str = "fake", per_speaker: int = 12, audio_dim: int = 5,
                    text_dim: int = 4, seed: int = 0, failed: tuple[str, ...] = (),
                    with_text: bool = True, id_prefix: str = "", copies: int = 0) -> list[dict]:
    """Write manifest + ``audio_feats`` + ``text_feats`` under ``root``; return the rows.

    Also written: ``audio_twin`` (a 2-dim sequence set with the frame counts of
    ``audio_feats``, to concatenate with it), ``vec_feats`` (an utterance-level set, 8 dims,
    whose class means are 3 apart: separable) and ``vec_small`` (3 dims, noise). Rows carry
    valence/arousal values that depend on the class. ``failed`` utt_ids are recorded as
    extraction failures of the audio set. ``copies`` > 0 adds that many augmented copies of
    every usable row (``<utt_id>~noise<k>``, ``source_id``, as ``ser-prepare --augment``).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for session in range(1, 6):
        for gender in "FM":
            for turn in range(per_speaker):
                scenario = "improvised" if turn % 2 == 0 else "scripted"
                dialog = f"Ses{session:02d}F_{'impro' if scenario == 'improvised' else 'script'}01"
                rows.append({
                    "utt_id": f"{id_prefix}{dialog}_{gender}{turn:03d}", "corpus": corpus,
                    "speaker": f"Ses{session:02d}{gender}", "gender": gender,
                    "session": session, "dialog": dialog, "scenario": scenario,
                    "label": CODES[(turn + session) % len(CODES)], "status": "ok",
                    "text": f"utterance {turn} [LAUGHTER] said" if with_text else "",
                    "valence": 1.0 + (turn + session) % len(CODES) * 0.4
                    + float(rng.normal(scale=0.1)),
                    "arousal": 3.0 - (turn + session) % len(CODES) * 0.2
                    + float(rng.normal(scale=0.1))})
    rows.append({"utt_id": "Ses01F_impro01_F999", "corpus": corpus, "speaker": "Ses01F",
                 "session": 1, "scenario": "improvised", "label": "neu",
                 "status": "missing_audio"})
    for row in [r for r in rows if r["status"] == "ok"]:
        for k in range(1, copies + 1):
            rows.append(dict(row, utt_id=f"{row['utt_id']}~noise{k}", source_id=row["utt_id"],
                             augmentation=f"noise:snr=20:k={k}"))
    sha = store.write_manifest(store.manifest_path(root, corpus), rows)
    usable = sorted(r["utt_id"] for r in rows if r["status"] == "ok")
    code_of = {r["utt_id"]: r["label"] for r in rows}
    frames: dict[str, int] = {}
    for name, dim, lengths, rank in (("audio_feats", audio_dim, (3, 30), "sequence"),
                                     ("text_feats", text_dim, (2, 9), "sequence"),
                                     ("audio_twin", 2, None, "sequence"),
                                     ("vec_feats", 8, None, "vector"),
                                     ("vec_small", 3, None, "vector")):
        description = {"feature_set": name, "modality": name.split("_")[0].replace(
            "vec", "audio"), "config": {}, "dim": dim, "rank": rank, "dtype": "float32",
            "frame_shift_s": 0.01 if rank == "sequence" else None}
        writer = store.FeatureSetWriter(root, corpus, description, sha, usable, shard_size=16,
                                        log=lambda m: None)
        for index in writer.pending():
            shard = writer.open_shard(index)
            for utt_id in writer.shards[index]:
                code = CODES.index(code_of[utt_id])
                if name == "audio_feats" and utt_id in failed:
                    shard.fail(utt_id, "extract_error: test")
                    continue
                if name == "vec_feats":
                    x = rng.normal(scale=0.5, size=dim).astype(np.float32)
                    x[code % dim] += 3.0  # class means 3 apart: separable
                elif name == "vec_small":
                    x = rng.normal(size=dim).astype(np.float32)
                else:
                    n = frames.get(utt_id) if name == "audio_twin" else int(rng.integers(*lengths))
                    if name == "audio_feats":
                        frames[utt_id] = n
                    n = n or int(rng.integers(3, 30))
                    x = rng.normal(size=(n, dim)).astype(np.float32)
                    x += code * 0.5  # class-dependent mean
                shard.write(utt_id, x)
            shard.commit()
    return rows
