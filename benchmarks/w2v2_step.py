"""CPU time of one training step of alqurashi2024's wav2vec 2.0 classifier (``w2v2``) at the
wav2vec2-base size: random initialisation of the base architecture (7 convs of 512, 12 layers,
768 hidden, 3072 FFN, 12 heads), CNN feature encoder frozen, Adam, batch 8 of 5 s of 16 kHz
audio (Sec. II-B 2; no checkpoint is needed: the numbers of the weights do not change the time).

    python benchmarks/w2v2_step.py                       # batch 8, 5 s, 3 timed steps
    python benchmarks/w2v2_step.py --steps 5 --seconds 3 --batch-size 4
    KERAS_BACKEND=torch python benchmarks/w2v2_step.py   # another Keras backend

The first step (graph tracing) is left out; printed: ms per step (mean, standard deviation,
median and fastest of the timed steps: on a shared machine the fastest is the least
disturbed), the parameter counts and the backend.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_classifier(num_classes: int, config: dict):
    """The ``w2v2`` model as the registry builds it (its entry, or the same builder)."""
    from ser_keras import models
    from ser_keras.models import wav2vec2

    spec = {"inputs": {"audio": {"rank": "sequence", "dim": 1}}, "num_classes": num_classes}
    if "w2v2" in models.REGISTRY:
        return models.build_model("w2v2", spec, config)
    entry = models.ModelEntry(name="w2v2", builder=wav2vec2.build_wav2vec2_classifier,
                              config_class=wav2vec2.Wav2Vec2ClassifierConfig,
                              inputs=(wav2vec2.AUDIO_INPUT,), paper=wav2vec2.PAPER,
                              defaults=wav2vec2.W2V2_DEFAULTS)
    return wav2vec2.build_wav2vec2_classifier(models.InputSpec.from_dict(spec),
                                              entry.resolve_config(config), entry)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up)")
    parser.add_argument("--classes", type=int, default=4)
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = build_classifier(args.classes, {"checkpoint": None})  # the base architecture
    model.compile(optimizer=keras.optimizers.Adam(3e-5), jit_compile=False,
                  loss="sparse_categorical_crossentropy")
    samples = int(round(args.seconds * 16000))
    rng = np.random.default_rng(0)
    inputs = {"audio": (0.1 * rng.normal(size=(args.batch_size, samples, 1))).astype("float32"),
              "audio_mask": np.ones((args.batch_size, samples), "float32")}
    labels = rng.integers(0, args.classes, size=args.batch_size)

    times = []
    for step in range(args.steps + 1):
        start = time.perf_counter()
        loss = model.train_on_batch(inputs, labels)
        elapsed = time.perf_counter() - start
        if step:  # the first step traces the graph
            times.append(elapsed)
        print(f"step {step}: {1000 * elapsed:.0f} ms, loss {float(loss):.4f}"
              + ("  (warm-up, not counted)" if not step else ""))

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    spread = statistics.stdev(times) * 1000 if len(times) > 1 else 0.0
    print(f"w2v2 (wav2vec2-base size, random init) one training step, backend "
          f"{keras.backend.backend()}, {os.cpu_count()} CPUs: batch {args.batch_size} x "
          f"{args.seconds:g} s at 16 kHz, feature encoder frozen, Adam")
    print(f"params: {model.count_params():,} total, {trainable:,} trainable")
    print(f"{1000 * statistics.mean(times):.0f} ms/step (mean of {len(times)}, "
          f"sd {spread:.0f} ms; median {1000 * statistics.median(times):.0f}, "
          f"fastest {1000 * min(times):.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
