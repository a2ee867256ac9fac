"""Training input throughput: the store pipeline vs. the same batches in memory, and per-batch
padding (ho2020's method) vs. padding every batch to the corpus's longest sample.

    python benchmarks/train_throughput.py                    # demo store in ./data, model mmfa
    python benchmarks/train_throughput.py --data data --dataset demo --model mmfa --epochs 4

Times are steady-state epochs of ``model.fit`` (the first epoch, which traces the graph, is
left out). Printed:
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

    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[Timer()])
    return times[1:]  # the first epoch traces the graph


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data")
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--model", default="mmfa")
    parser.add_argument("--classes", default="iemocap4")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measurement (>= 2)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from ser_keras import models, store
    from ser_keras.data import get_class_set
    from ser_keras.data import input as data_input
    from ser_keras.training.runner import make_optimizer
    from ser_keras.config import TrainingConfig

    class_set = get_class_set(args.classes)
    rows = store.read_manifest(store.manifest_path(args.data, args.dataset))
    rows, _ = data_input.select_rows(rows, class_set, "mixed")
    labels = data_input.label_indices(rows, class_set)
    entry = models.get_entry(args.model)
    features = {"audio": "mfcc39_smile", "text": "bert_tokens"}
    sets = data_input.open_inputs(args.data, args.dataset,
                                  {m: features[m] for m in entry.modalities})
    spec = data_input.input_spec(sets, class_set.num_classes)

    def fresh_model():
        keras.utils.set_random_seed(0)
        model = models.build_model(args.model, spec)
        model.compile(optimizer=make_optimizer(TrainingConfig()),
                      loss="sparse_categorical_crossentropy")
        return model

    def dataset(**kwargs):
        return data_input.make_dataset(sets, labels, batch_size=args.batch_size, shuffle=True,
                                       seed=0, **kwargs)[0]

    uncached = dataset(cache=False)
    cached = dataset(cache=True)
    batches = list(dataset(cache=True).as_numpy_iterator())
    steps = len(batches)
    signature = ({k: tf.TensorSpec([None] * v.ndim, tf.as_dtype(v.dtype))
                  for k, v in batches[0][0].items()}, tf.TensorSpec([None], tf.int32))
    in_memory = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)

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

    per_batch = float(np.mean(epoch_times(fresh_model(), cached, args.epochs)))
    longest = float(np.mean(epoch_times(fresh_model(), dataset(pad_to_longest_in_corpus=True),
                                        args.epochs)))
    print(f"  epoch, per-batch padding:      {per_batch:.2f} s")
    print(f"  epoch, corpus-longest padding: {longest:.2f} s  (ratio {longest / per_batch:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
