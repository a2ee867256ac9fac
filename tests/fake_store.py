"""A small prepared corpus written straight into the store (no audio, no extraction): ten
IEMOCAP-style speakers, both scenarios, features whose means depend on the class so that
models can learn something. For fast data, training and benchmark tests."""
from __future__ import annotations

import numpy as np

from ser_keras import store

CODES = ("neu", "ang", "sad", "hap", "exc", "fru", "sur", "fea", "xxx")


def make_fake_store(root, corpus: str = "fake", per_speaker: int = 12, audio_dim: int = 5,
                    text_dim: int = 4, seed: int = 0, failed: tuple[str, ...] = (),
                    with_text: bool = True) -> list[dict]:
    """Write manifest + ``audio_feats`` + ``text_feats`` under ``root``; return the rows.

    ``failed`` utt_ids are recorded as extraction failures of the audio set.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for session in range(1, 6):
        for gender in "FM":
            for turn in range(per_speaker):
                scenario = "improvised" if turn % 2 == 0 else "scripted"
                dialog = f"Ses{session:02d}F_{'impro' if scenario == 'improvised' else 'script'}01"
                rows.append({
                    "utt_id": f"{dialog}_{gender}{turn:03d}", "corpus": corpus,
                    "speaker": f"Ses{session:02d}{gender}", "gender": gender,
                    "session": session, "dialog": dialog, "scenario": scenario,
                    "label": CODES[(turn + session) % len(CODES)], "status": "ok",
                    "text": f"utterance {turn}" if with_text else ""})
    rows.append({"utt_id": "Ses01F_impro01_F999", "corpus": corpus, "speaker": "Ses01F",
                 "session": 1, "scenario": "improvised", "label": "neu",
                 "status": "missing_audio"})
    sha = store.write_manifest(store.manifest_path(root, corpus), rows)
    usable = sorted(r["utt_id"] for r in rows if r["status"] == "ok")
    code_of = {r["utt_id"]: r["label"] for r in rows}
    for name, dim, lengths in (("audio_feats", audio_dim, (3, 30)), ("text_feats", text_dim, (2, 9))):
        description = {"feature_set": name, "modality": name.split("_")[0], "config": {},
                       "dim": dim, "rank": "sequence", "dtype": "float32"}
        writer = store.FeatureSetWriter(root, corpus, description, sha, usable, shard_size=16,
                                        log=lambda m: None)
        for index in writer.pending():
            shard = writer.open_shard(index)
            for utt_id in writer.shards[index]:
                if name == "audio_feats" and utt_id in failed:
                    shard.fail(utt_id, "extract_error: test")
                    continue
                n = int(rng.integers(*lengths))
                x = rng.normal(size=(n, dim)).astype(np.float32)
                x += CODES.index(code_of[utt_id]) * 0.5  # class-dependent mean
                shard.write(utt_id, x)
            shard.commit()
    return rows
