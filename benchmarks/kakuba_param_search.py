"""Which readings of DBMER's silent choices give kakuba2023 Sec. V-D's parameter counts?

    .venv/bin/python benchmarks/kakuba_param_search.py            # search, verify the best
    .venv/bin/python benchmarks/kakuba_param_search.py --top 40 --no-verify

Sec. V-D: the bimodal DBMER with BERT-base in its text branch has 116,600,969 parameters,
7,116,424 trainable; the multi-stream DBMER (no BERT) 5,585,159, 5,582,855 trainable. The
paper's Keras 2.6 code most likely held BERT as a frozen TF-Hub ``KerasLayer``, which reports
109,482,241 parameters (keras-hub's ``BertBackbone`` bert_base_en_uncased: 109,482,240), so the
part outside BERT is 7,118,728 in total, 7,116,424 trainable, 2,304 non-trainable -- the same
2,304 non-trainable parameters as the multi-stream model (1,152 BatchNorm channels' moving mean
and variance). With 109,482,240 the bimodal model would have 2,305 non-trainable parameters
outside BERT, an odd number no set of BatchNorm layers gives. Our ``dbmer`` takes precomputed BERT embeddings, so its targets are those outside
BERT: (7,116,424 trainable, 2,304 non-trainable) at audio 39 / text 768 / 4 classes, and
(5,582,855, 2,304) at audio 39 / mel 128 / 7 classes for ``dbmer-multistream``.

The script counts DBMER analytically for every combination of the readings below (the same
arithmetic as ``ser_keras.models.kakuba.dbmer.DBMER``; the default and the best buildable
candidates are checked by building them with Keras), ranks them by the larger of the two
relative errors on the trainable counts, and prints the closest, with and without the exact
2,304 non-trainable parameters. The space (each a silent choice of the paper):

    lstm_input      what the per-modality BiLSTM + self-attention reads: the modality's
                    features, or the transformer-encoder output
    lstm_units      128 | 256 (Sec. III-B says 256 for its bimodal BiLSTMs)
    lstm_norm       LayerNorm after each BiLSTM (Sec. III-B) or not
    attention       dot (parameter-free), keras_additive (Keras' AdditiveAttention, d
                    weights), seq_additive (keras-self-attention's SeqSelfAttention default:
                    64 d + 65), seq_multiplicative (d^2 + 1)
    num_heads       2 | 4 (Table 2: 2 - 4; Sec. III-B: 4)
    key_dim         64 | 128 | 256 | width (the keras.io text block: key_dim = embed_dim)
    ff_dim          4 (the keras.io timeseries block's default) | 128 | 256 | 512 | 1024 |
                    2048 | 4x (four times the encoder width)
    num_blocks      1 | 2 encoder blocks per transformer encoder
    projection      Dense(128) after each BiLSTM + self-attention, or none
    fusion_1        concatenation on the time axis (conv on 128) or the feature axis (256,
                    after aligning the lengths)
    fusion_2        time axis (encoder on the common width) or feature axis (3 x the width)
    head            GAP -> softmax, or GAP -> Dense(128) -> softmax
    BatchNorm       after the five convolutions; after the three BiLSTMs; after the
                    projections; on the fusion-2 splice (each on or off)

Then the input dims (MFCC 39 / 40 / 13, Mel 128 / 64 / 40) are swept for the best readings,
and the class counts are questioned: Sec. V-D's bimodal trainable count is 8 (mod 128) and the
multi-stream one 7 (mod 128); with every width a multiple of 128 and no odd-sized weights, a
(H + 1) x C softmax head on a 128k-wide input contributes C (mod 128), so the multi-stream head
has 7 classes and an exact bimodal count would need 8 classes (or 4 classes plus 4 stray
parameters). No reading of this space with 4 classes is exact; the script says how close each
gets.
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sec. V-D, outside the TF-Hub BERT KerasLayer (109,482,241 parameters, all frozen)
TF_HUB_BERT_BASE = 109_482_241
PAPER = {
    "dbmer": {"total": 116_600_969 - TF_HUB_BERT_BASE, "trainable": 7_116_424},
    "dbmer-multistream": {"total": 5_585_159, "trainable": 5_582_855},
}
for _target in PAPER.values():
    _target["non_trainable"] = _target["total"] - _target["trainable"]  # 2,304 both
DIMS = {"dbmer": (39, 768, 4), "dbmer-multistream": (39, 128, 7)}  # audio, other, classes
FILTERS, KERNEL = 128, 3  # Sec. III-C

SPACE = {
    "lstm_input": ("features", "encoder"),
    "lstm_units": (256, 128),
    "lstm_norm": (True, False),
    "attention": ("dot", "keras_additive", "seq_additive", "seq_multiplicative"),
    "num_heads": (4, 2),
    "key_dim": (256, 128, 64, "width"),
    "ff_dim": (4, 128, 256, 512, 1024, 2048, "4x"),
    "num_blocks": (1, 2),
    "projection": (None, 128),
    "fusion_1": ("time", "feature"),
    "fusion_2": ("time", "feature"),
    "head": ((), (128,)),
    "bn_conv": (True, False),
    "bn_lstm": (False, True),
    "bn_projection": (False, True),
    "bn_fusion_2": (True, False),
}
# The readings the builder implements (DBMERConfig); the others are counted only.
BUILDABLE = {"attention": ("dot",), "key_dim": (256, 128, 64), "ff_dim": (4, 128, 256, 512,
                                                                         1024, 2048),
             "fusion_1": ("time",), "fusion_2": ("time",), "bn_lstm": (False,),
             "bn_projection": (False,)}
# ser_keras' defaults (DBMERConfig), as a reading of SPACE
DEFAULT = {"lstm_input": "features", "lstm_units": 256, "lstm_norm": True, "attention": "dot",
           "num_heads": 4, "key_dim": 256, "ff_dim": 4, "num_blocks": 1, "projection": None,
           "fusion_1": "time", "fusion_2": "time", "head": (), "bn_conv": True,
           "bn_lstm": False, "bn_projection": False, "bn_fusion_2": True}


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------
def conv(dim: int) -> int:
    return KERNEL * dim * FILTERS + FILTERS


def dense(dim: int, units: int) -> int:
    return dim * units + units


def bilstm(dim: int, units: int) -> int:
    return 8 * units * (dim + units + 1)


def encoder(width: int, reading) -> int:
    """``ser_keras.layers.TransformerEncoder`` blocks on ``width``-wide inputs."""
    heads = reading["num_heads"]
    key = width if reading["key_dim"] == "width" else reading["key_dim"]
    ff = 4 * width if reading["ff_dim"] == "4x" else reading["ff_dim"]
    attention = 4 * width * heads * key + 3 * heads * key + width
    return reading["num_blocks"] * (attention + 2 * width * ff + ff + width + 4 * width)


def attention(width: int, kind: str) -> int:
    return {"dot": 0, "keras_additive": width, "seq_additive": 64 * width + 65,
            "seq_multiplicative": width * width + 1}[kind]


def count(reading, audio_dim: int, other_dim: int, classes: int) -> tuple[int, int]:
    """(trainable, non-trainable) of DBMER under ``reading``."""
    trainable, bn_channels = 0, 0
    units = reading["lstm_units"]
    width = 2 * units  # BiLSTM output

    def temporal(dim):
        nonlocal trainable, bn_channels
        trainable += bilstm(dim, units) + attention(width, reading["attention"])
        trainable += 2 * width if reading["lstm_norm"] else 0
        bn_channels += width if reading["bn_lstm"] else 0
        if reading["projection"]:
            trainable += dense(width, reading["projection"])
            bn_channels += reading["projection"] if reading["bn_projection"] else 0

    for dim in (audio_dim, other_dim):
        trainable += conv(dim) + conv(FILTERS) + encoder(FILTERS, reading)
        bn_channels += 2 * FILTERS if reading["bn_conv"] else 0
        temporal(dim if reading["lstm_input"] == "features" else FILTERS)
    trainable += conv(FILTERS if reading["fusion_1"] == "time" else 2 * FILTERS)
    bn_channels += FILTERS if reading["bn_conv"] else 0
    temporal(FILTERS)
    spliced = reading["projection"] or width
    if reading["fusion_2"] == "feature":
        spliced *= 3
    bn_channels += spliced if reading["bn_fusion_2"] else 0
    trainable += encoder(spliced, reading)
    previous = spliced
    for units_ in reading["head"]:
        trainable += dense(previous, units_)
        previous = units_
    trainable += dense(previous, classes)
    return trainable + 2 * bn_channels, 2 * bn_channels  # BN: gamma, beta + mean, variance


def evaluate(reading, dims=DIMS):
    """Counts and relative trainable errors of both models."""
    result = {}
    for name, (audio_dim, other_dim, classes) in dims.items():
        trainable, non_trainable = count(reading, audio_dim, other_dim, classes)
        target = PAPER[name]
        result[name] = {"trainable": trainable, "non_trainable": non_trainable,
                        "error": (trainable - target["trainable"]) / target["trainable"],
                        "exact_nt": non_trainable == target["non_trainable"]}
    result["score"] = max(abs(r["error"]) for r in result.values() if isinstance(r, dict))
    result["exact_nt"] = all(r["exact_nt"] for k, r in result.items() if k in dims)
    return result


def buildable(reading) -> bool:
    return all(reading[key] in values for key, values in BUILDABLE.items())


def config_of(reading) -> dict:
    """The ``DBMERConfig`` overrides of a buildable reading."""
    return {"lstm_input": reading["lstm_input"], "lstm_units": reading["lstm_units"],
            "lstm_layer_norm": reading["lstm_norm"], "num_heads": reading["num_heads"],
            "key_dim": reading["key_dim"], "ff_dim": reading["ff_dim"],
            "num_blocks": reading["num_blocks"], "projection_units": reading["projection"],
            "head_units": list(reading["head"]), "conv_batch_norm": reading["bn_conv"],
            "fusion_batch_norm": reading["bn_fusion_2"]}


def readings():
    keys = list(SPACE)
    for values in itertools.product(*(SPACE[k] for k in keys)):
        reading = dict(zip(keys, values))
        if reading["projection"] is None and reading["bn_projection"]:
            continue  # no projection to normalise
        yield reading


def describe(reading) -> str:
    changed = [f"{k}={v}" for k, v in reading.items() if v != DEFAULT[k]]
    return "default" if not changed else ", ".join(changed)


def line(rank, reading, result) -> str:
    b, m = result["dbmer"], result["dbmer-multistream"]
    flag = "" if buildable(reading) else " [counted only]"
    return (f"{rank:>4} {100 * result['score']:6.3f} %  dbmer {b['trainable']:>9,} "
            f"({100 * b['error']:+.3f} %) nt {b['non_trainable']:>5,}   multistream "
            f"{m['trainable']:>9,} ({100 * m['error']:+.3f} %) nt {m['non_trainable']:>5,}"
            f"   {describe(reading)}{flag}")


# --------------------------------------------------------------------------------------------
# Verification with Keras
# --------------------------------------------------------------------------------------------
def built_counts(config: dict) -> dict:
    from ser_keras import models

    counts = {}
    for name in PAPER:
        model = models.build_model(name, models.paper_spec(name), config)
        trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
        counts[name] = (int(trainable), int(model.count_params() - trainable))
    return counts


def verify(reading) -> str:
    counts = built_counts(config_of(reading))
    result = evaluate(reading)
    agree = all(counts[n] == (result[n]["trainable"], result[n]["non_trainable"])
                for n in PAPER)
    shown = ", ".join(f"{n} {t:,} + {nt:,}" for n, (t, nt) in counts.items())
    return f"built with Keras: {shown} -> {'agrees' if agree else 'DISAGREES'} with the count"


# --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25, help="candidates to print per list")
    parser.add_argument("--verify", type=int, default=3,
                        help="build the default and this many best buildable candidates")
    parser.add_argument("--no-verify", dest="verify", action="store_const", const=0)
    args = parser.parse_args(argv)

    print("Targets outside BERT (Sec. V-D; TF-Hub BERT-base = 109,482,241):")
    for name, target in PAPER.items():
        audio_dim, other_dim, classes = DIMS[name]
        print(f"  {name:<18} trainable {target['trainable']:>9,}  non-trainable "
              f"{target['non_trainable']:>5,}  (inputs {audio_dim} / {other_dim}, "
              f"{classes} classes)  trainable mod 128 = {target['trainable'] % 128}")
    gap = PAPER["dbmer"]["trainable"] - PAPER["dbmer-multistream"]["trainable"]
    print(f"  difference {gap:,} trainable: the text branch (768-d input) against the Mel "
          f"branch (128-d) and a 4- against a 7-class head\n")

    results = [(reading, evaluate(reading)) for reading in readings()]
    results.sort(key=lambda item: item[1]["score"])
    within = [(r, e) for r, e in results if e["score"] <= 0.01]
    print(f"{len(results):,} readings counted; {len(within):,} within 1 % of both trainable "
          f"targets, {sum(e['exact_nt'] for _, e in within):,} of them with exactly 2,304 "
          f"non-trainable; exact on both trainable counts: "
          f"{sum(e['score'] == 0 for _, e in results)}")
    for value in SPACE["lstm_input"]:
        reading = {**DEFAULT, "lstm_input": value}
        difference = (count(reading, *DIMS["dbmer"])[0]
                      - count(reading, *DIMS["dbmer-multistream"])[0])
        best = next((e for r, e in results if r["lstm_input"] == value), None)
        inside = sum(1 for r, _ in within if r["lstm_input"] == value)
        print(f"  lstm_input={value:<9} best {100 * best['score']:.3f} %, {inside:,} within "
              f"1 %; dbmer - multistream = {difference:,} trainable (paper {gap:,}; "
              f"{difference - gap:+,})")
    print()

    def show(title, items):
        print(title)
        seen = set()
        shown = 0
        for reading, result in items:
            key = (result["dbmer"]["trainable"], result["dbmer-multistream"]["trainable"],
                   result["dbmer"]["non_trainable"])
            if key in seen:
                continue  # the same counts by another road: print the first (simplest)
            seen.add(key)
            shown += 1
            print(line(shown, reading, result))
            if shown >= args.top:
                break
        print()

    show("Closest readings (distinct counts; error = the larger relative trainable error):",
         results)
    exact_nt = [(r, e) for r, e in results if e["exact_nt"]]
    show("Closest with exactly 2,304 non-trainable in both:", exact_nt)
    show("Closest buildable with exactly 2,304 non-trainable (DBMERConfig options):",
         [(r, e) for r, e in exact_nt if buildable(r)])

    default = evaluate(DEFAULT)
    distinct = sorted({(e["score"], e["dbmer"]["trainable"]) for _, e in exact_nt})
    rank = distinct.index((default["score"], default["dbmer"]["trainable"])) + 1
    print("ser_keras default (DBMERConfig):")
    print(line(rank, DEFAULT, default).replace("default", "the default", 1))
    print(f"  (rank {rank:,} of {len(distinct):,} distinct counts with the exact "
          f"non-trainable count; the minimax error of the whole space is "
          f"{100 * results[0][1]['score']:.3f} %)\n")

    print("Input dims (MFCC, Mel) for the default reading, trainable error dbmer / "
          "multistream:")
    for mfcc, mel in itertools.product((39, 40, 13), (128, 64, 40)):
        result = evaluate(DEFAULT, {"dbmer": (mfcc, 768, 4), "dbmer-multistream": (mfcc, mel, 7)})
        print(f"  MFCC {mfcc:>2}, Mel {mel:>3}: {100 * result['dbmer']['error']:+.3f} % / "
              f"{100 * result['dbmer-multistream']['error']:+.3f} %")
    eight = evaluate(DEFAULT, {"dbmer": (39, 768, 8), "dbmer-multistream": (39, 128, 7)})
    print(f"  (with 8 bimodal classes, as the counts mod 128 suggest: "
          f"{100 * eight['dbmer']['error']:+.3f} % / "
          f"{100 * eight['dbmer-multistream']['error']:+.3f} %)\n")

    if args.verify:
        print("Verification (ser_keras.models.build_model at the paper's dims):")
        print(f"  default: {verify(DEFAULT)}")
        checked = 0
        for reading, _ in exact_nt:
            if checked >= args.verify:
                break
            if buildable(reading) and reading != DEFAULT:
                print(f"  {describe(reading)}: {verify(reading)}")
                checked += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
