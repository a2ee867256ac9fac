"""Training input throughput: the store pipeline vs. the same batches in memory, and per-batch
padding (ho2020's method) vs. padding every batch to the corpus's longest sample.

    python benchmarks/train_throughput.py                    # demo store in ./data, model mmfa
    python benchmarks/train_throughput.py --data data --dataset demo --model mmfa --epochs 4
    python benchmarks/train_throughput.py --synthetic 1000   # IEMOCAP-like utterance lengths

Times are steady-state epochs of ``model.fit`` (the first epoch, which traces the graph, is
left out). The three input paths are timed on the same unshuffled batches; the padding
comparison on shuffled batches, as in training. Printed:
- steps/s reading the store every epoch (TFRecord parse + join + pad, no cache), with the
  tf.data cache (what ser-train uses), and from batches held in memory as numpy arrays;
  pipeline overhead = (time per step with the pipeline / time in memory - 1) in %;
- seconds per epoch with per-batch padding and with corpus-longest padding, and their ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def epoch_times(model, dataset, epochs: int) -> list[float]:
    import keras

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[Timer()], shuffle=False)
    return times[1:]  # the first epoch traces the graph


def write_synthetic_store(root, n: int, text_dim: int = 768, seed: int = 0) -> None:
    """A store of random features with IEMOCAP-like lengths (log-normal durations, median
    ~3.5 s, 0.6-35 s; 20 MFCC frames and ~2.5 word pieces per second), for timing only: the
    demo corpus's utterances are all 1-4 s long, which hides what padding costs."""
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
    for name, dim, rate in (("mfcc39_smile", 39, 20.0), ("bert_tokens", text_dim, 2.5)):
        writer = store.FeatureSetWriter(root, "synthetic", {
            "feature_set": name, "config": {"synthetic": True}, "dim": dim,
            "rank": "sequence", "dtype": "float32"}, sha, ids, log=lambda m: None)
        for index in writer.pending():
            shard = writer.open_shard(index)
            for u in writer.shards[index]:
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
    args = parser.parse_args(argv)
    if args.synthetic:
        import tempfile

        args.data, args.dataset = tempfile.mkdtemp(prefix="ser-bench-"), "synthetic"
        write_synthetic_store(args.data, args.synthetic)

    import keras
    import numpy as np
    import tensorflow as tf

    from ser_keras import models
    from ser_keras.config import TrainingConfig, feature_sets_of, parse_input_mapping
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
    feeds = [data_input.InputFeed(d.name, d.rank, [
        pooled.open_feature_set(args.data, args.dataset, fs)
        for fs in feature_sets_of(mapping.get(d.name, d.default))]) for d in entry.inputs]
    spec = data_input.input_spec(feeds, class_set.num_classes)

    def fresh_model():
        keras.utils.set_random_seed(0)
        model = models.build_model(args.model, spec)
        model.compile(optimizer=build_optimizer(TrainingConfig()),
                      loss="sparse_categorical_crossentropy")
        return model

    def dataset(shuffle=False, **kwargs):
        return data_input.make_dataset(feeds, labels, batch_size=args.batch_size,
                                       shuffle=shuffle, seed=0, **kwargs)[0]

    # Unshuffled here, so that all three feed the very same batches every epoch and only the
    # input path differs.
    uncached = dataset(cache=False)
    cached = dataset(cache=True)
    # The same batches held in memory: the final padded batches, cached as tensors during the
    # first (untimed) epoch, then replayed without parsing, joining, shuffling or padding.
    in_memory = dataset(cache=False).cache().prefetch(tf.data.AUTOTUNE)
    steps = sum(1 for _ in cached)

    results = {}
    for name, ds in (("store, no cache", uncached), ("store, cached", cached),
                     ("in memory", in_memory)):
        t = epoch_times(fresh_model(), ds, args.epochs)
        results[name] = float(np.mean(t)) / steps
    print(f"{args.model} on {args.dataset}: {len(labels)} utterances, batch {args.batch_size}, "
          f"{steps} steps per epoch, {args.epochs - 1} timed epochs each")
    base = results["in memory"]
    for name, per_step in results.items():
        overhead = "" if name == "in memory" else f"  pipeline overhead {100 * (per_step / base - 1):+.1f} %"
        print(f"  {name:<16} {1 / per_step:7.2f} steps/s  ({1000 * per_step:.1f} ms/step){overhead}")

    # Shuffled as in training: per-batch padding depends on which utterances meet in a batch.
    per_batch = float(np.mean(epoch_times(fresh_model(), dataset(shuffle=True), args.epochs)))
    longest = float(np.mean(epoch_times(
        fresh_model(), dataset(shuffle=True, pad_to_longest_in_corpus=True), args.epochs)))
    print(f"  epoch, per-batch padding:      {per_batch:.2f} s")
    print(f"  epoch, corpus-longest padding: {longest:.2f} s  (ratio {longest / per_batch:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
