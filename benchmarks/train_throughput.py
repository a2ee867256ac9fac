"""Training input throughput: the store pipeline vs. the same batches in memory, and per-batch
padding (ho2020's method) vs. padding every batch to the corpus's longest sample.

    python benchmarks/train_throughput.py                    # demo store in ./data, model mmfa
    python benchmarks/train_throughput.py --data data --dataset demo --model mmfa --epochs 4
    python benchmarks/train_throughput.py --synthetic 1000   # IEMOCAP-like utterance lengths
    # CNN14 (triantafyllopoulos2022 Sec. 3): 5 s random crops of logmel64, batch 64
    python benchmarks/train_throughput.py --synthetic 256 --model cnn14 --width 0.125 \
        --batch-size 64 --crop-seconds 5
    python benchmarks/train_throughput.py --synthetic 256 --model cnn14 --width 1 \
        --batch-size 64 --crop-seconds 5 --epochs 2 --steps 2   # ~tens of s a step on 2 CPUs

Times are steady-state epochs of ``model.fit`` (the first epoch, which traces the graph, is
left out). The three input paths are timed on the same unshuffled batches, one model fed one
epoch of each path in turn (the median epoch of each); the padding comparison on shuffled
batches, as in training. Printed:
- steps/s reading the store every epoch (TFRecord parse + join + pad, no cache), with the
  tf.data cache (what ser-train uses), and from batches held in memory as numpy arrays;
  pipeline overhead = (time per step with the pipeline / time in memory - 1) in %;
- seconds per epoch with per-batch padding and with corpus-longest padding, and their ratio.

``--crop-seconds S`` trains on random crops of S seconds of every sequence input (as an
experiment's ``crop_seconds``; a new crop every epoch from the store, the first epoch's crops
replayed in memory): the overhead then includes cropping. The padding comparison is left out
with crops (every batch is at most S seconds long). ``--steps N`` times only the first N steps
of an epoch (a width-1 CNN14 step takes tens of seconds on 2 CPUs); ``--width W`` builds the
model with that width multiplier (cnn14, sfcnn14, mfcnn14).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def epoch_times(model, dataset, epochs: int, skip: int = 1) -> list[float]:
    """Seconds of each of ``epochs`` epochs of ``model.fit``, less the first ``skip`` (the
    first epoch of a model traces the graph)."""
    import keras

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[Timer()], shuffle=False)
    return times[skip:]


def interleaved_epoch_times(model, datasets: dict, rounds: int) -> dict[str, list[float]]:
    """One model, one epoch of each dataset in turn, ``rounds`` times; the first round (graph
    tracing, cache filling) left out. Interleaving spreads load from other processes on a
    shared machine over all input paths alike."""
    times: dict[str, list[float]] = {name: [] for name in datasets}
    for _ in range(rounds):
        for name, dataset in datasets.items():
            times[name] += epoch_times(model, dataset, 1, skip=0)
    return {name: t[1:] for name, t in times.items()}


def write_synthetic_store(root, n: int, text_dim: int = 768, seed: int = 0) -> None:
    """A store of random features with IEMOCAP-like lengths (log-normal durations, median
    ~3.5 s, 0.6-35 s; 20 MFCC frames, 100 log-Mel frames and ~2.5 word pieces per second, and
    one mean text embedding per utterance), for timing only: the demo corpus's utterances are
    all 1-4 s long, which hides what padding costs."""
    import numpy as np

    from ser_keras import store

    rng = np.random.default_rng(seed)
    codes = ("neu", "ang", "sad", "hap")
    rows = [{"utt_id": f"syn{i:05d}", "corpus": "synthetic", "status": "ok",
             "speaker": f"S{i % 10}", "session": i % 10 // 2 + 1, "scenario": "improvised",
             "label": codes[i % 4]} for i in range(n)]
    sha = store.write_manifest(store.manifest_path(root, "synthetic"), rows)
    ids = [r["utt_id"] for r in rows]
    durations = np.clip(rng.lognormal(np.log(3.5), 0.7, n), 0.6, 35.0)
    # (name, dim, frames per second; None: one vector per utterance)
    for name, dim, rate in (("mfcc39_smile", 39, 20.0), ("bert_tokens", text_dim, 2.5),
                            ("logmel64", 64, 100.0), ("bert_mean", text_dim, None)):
        writer = store.FeatureSetWriter(root, "synthetic", {
            "feature_set": name, "config": {"synthetic": True}, "dim": dim,
            "rank": "sequence" if rate else "vector", "dtype": "float32",
            "frame_shift_s": 1 / rate if rate else None}, sha, ids, log=lambda m: None)
        for index in writer.pending():
            shard = writer.open_shard(index)
            for u in writer.shards[index]:
                if rate is None:
                    shard.write(u, rng.normal(size=dim).astype(np.float32))
                    continue
                frames = max(2, int(durations[int(u[3:])] * rate))
                shard.write(u, rng.normal(size=(frames, dim)).astype(np.float32))
            shard.commit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data")
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--model", default="mmfa")
    parser.add_argument("--classes", default="iemocap4")
    parser.add_argument("--features", help="input=set[+set],... (default: the model's)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measurement (>= 2)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="time on N random utterances with IEMOCAP-like lengths instead")
    parser.add_argument("--width", type=float, metavar="W",
                        help="the model's width multiplier (cnn14, sfcnn14, mfcnn14)")
    parser.add_argument("--crop-seconds", type=float, metavar="S",
                        help="train on random crops of S seconds of every sequence input")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="time only the first N steps of every epoch (slow models)")
    args = parser.parse_args(argv)
    if args.synthetic:
        import tempfile

        args.data, args.dataset = tempfile.mkdtemp(prefix="ser-bench-"), "synthetic"
        write_synthetic_store(args.data, args.synthetic)

    import keras
    import numpy as np
    import tensorflow as tf

    from ser_keras import models
    from ser_keras.config import (
        InputOptions,
        TrainingConfig,
        feature_sets_of,
        parse_input_mapping,
    )
    from ser_keras.data import get_class_set
    from ser_keras.data import input as data_input
    from ser_keras.data import pooled
    from ser_keras.training.recipe import build_optimizer

    class_set = get_class_set(args.classes)
    rows = pooled.read_rows(args.data, args.dataset)  # a corpus, or a pool (a+b+c)
    rows, _ = data_input.select_rows(rows, class_set, "mixed")
    labels = data_input.label_indices(rows, class_set)
    entry = models.get_entry(args.model)
    mapping = parse_input_mapping(args.features) if args.features else {}
    crops = args.crop_seconds is not None

    def options(rank):
        return (InputOptions(crop_seconds=args.crop_seconds) if crops and rank == "sequence"
                else InputOptions())

    feeds = [data_input.InputFeed(d.name, d.rank, [
        pooled.open_feature_set(args.data, args.dataset, fs)
        for fs in feature_sets_of(mapping.get(d.name, d.default))], options=options(d.rank))
        for d in entry.inputs]
    spec = data_input.input_spec(feeds, class_set.num_classes)
    config = {"width": args.width} if args.width is not None else None

    def fresh_model():
        keras.utils.set_random_seed(0)
        model = models.build_model(args.model, spec, config)
        model.compile(optimizer=build_optimizer(TrainingConfig()),
                      loss="sparse_categorical_crossentropy")
        return model

    def dataset(shuffle=False, **kwargs):
        # training: random crops where asked (make_dataset crops training batches only)
        ds = data_input.make_dataset(feeds, labels, batch_size=args.batch_size,
                                     shuffle=shuffle, seed=0, training=crops, **kwargs)[0]
        return ds.take(args.steps) if args.steps else ds

    # Unshuffled here, so that all three feed the very same batches every epoch (with crops:
    # the same utterances, cropped anew every epoch) and only the input path differs.
    uncached = dataset(cache=False)
    cached = dataset(cache=True)
    # The same batches held in memory: the final padded (cropped) batches, cached as tensors
    # during the first (untimed) epoch, then replayed without parsing, joining, shuffling,
    # cropping or padding.
    in_memory = dataset(cache=False).cache().prefetch(tf.data.AUTOTUNE)
    steps = sum(1 for _ in cached)

    timed = interleaved_epoch_times(fresh_model(), {
        "store, no cache": uncached, "store, cached": cached, "in memory": in_memory},
        args.epochs)
    results = {name: float(np.median(t)) / steps for name, t in timed.items()}
    setup = "".join([f", width {args.width:g}" if args.width is not None else "",
                     f", {args.crop_seconds:g} s random crops" if crops else "",
                     f" (first {args.steps} steps)" if args.steps else ""])
    print(f"{args.model} on {args.dataset}: {len(labels)} utterances, batch {args.batch_size}"
          f"{setup}, {steps} steps per epoch, {args.epochs - 1} timed epochs each")
    base = results["in memory"]
    for name, per_step in results.items():
        overhead = "" if name == "in memory" else f"  pipeline overhead {100 * (per_step / base - 1):+.1f} %"
        print(f"  {name:<16} {1 / per_step:7.2f} steps/s  ({1000 * per_step:.1f} ms/step){overhead}")

    if crops:
        print("  (padding comparison left out: with crops every batch is at most "
              f"{args.crop_seconds:g} s long)")
        return 0
    # Shuffled as in training: per-batch padding depends on which utterances meet in a batch.
    per_batch = float(np.mean(epoch_times(fresh_model(), dataset(shuffle=True), args.epochs)))
    longest = float(np.mean(epoch_times(
        fresh_model(), dataset(shuffle=True, pad_to_longest_in_corpus=True), args.epochs)))
    print(f"  epoch, per-batch padding:      {per_batch:.2f} s")
    print(f"  epoch, corpus-longest padding: {longest:.2f} s  (ratio {longest / per_batch:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
