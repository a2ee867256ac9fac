"""``ser-prepare``: turn a corpus release into a manifest and feature sets in the store.

    ser-prepare demo [--out DIR] [--size tiny|small|medium] [--seed N] [--layout iemocap]
    ser-prepare demo --layout msp-podcast      # the MSP-Podcast-layout demo, store corpus demo-msp
    ser-prepare msp-podcast /data/MSP-Podcast --transcripts asr.csv  # text from a CSV utt_id,text
    ser-prepare iemocap /data/IEMOCAP_full_release [--out DIR] [--features mfcc39_smile,bert_tokens]
    ser-prepare iemocap /data/IEMOCAP_full_release --for ho2020/table3   # what that table reads
    ser-prepare ravdess /data/RAVDESS --augment noise:snr=20,copies=1    # + noisy copies

Re-running the same command skips what is complete and finishes what is not, and re-extracts
a complete shard whose bytes no longer match its marker. The store root defaults to
``$SER_KERAS_DATA`` or ``./data``.

    ser-prepare iemocap /data/IEMOCAP_full_release --verify   # check the store, extract nothing
    ser-prepare demo --verify                                 # (exit 1 when a shard is bad)

One command at a time per corpus store: the whole command holds ``<out>/<corpus>/.prepare.lock``
(``ser_keras.locks``); a second one fails at once naming the holder's pid, or, with ``--wait``,
waits for it.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from data_prep.corpora import ADAPTERS, iemocap, msp_podcast
from data_prep.errors import PrepareError
from ser_keras.errors import SerKerasError

DEMO_MSP = "demo-msp"  # store corpus of ``ser-prepare demo --layout msp-podcast``


def _feature_list(value: str) -> list[str]:
    from data_prep.features import FEATURE_SETS

    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in FEATURE_SETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown feature set(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(sorted(FEATURE_SETS))}")
    return names


def experiment_features(name: str, corpus: str = "") -> list[str]:
    """The feature sets the cells of an experiment read on ``corpus`` (``--for``), checked
    to exist."""
    from ser_keras.experiment import load_experiment_for, required_feature_sets

    names = required_feature_sets(load_experiment_for(name, corpus))
    if not names:
        raise argparse.ArgumentTypeError("its cells read no feature set (transcripts only)")
    return _feature_list(",".join(names))


def experiment_augmentation(name: str, corpus: str = "") -> list[str]:
    """The cells of an experiment that train on augmented copies (``augmentation`` set)."""
    from ser_keras.experiment import load_experiment_for

    exp = load_experiment_for(name, corpus)
    return [c.id for c in exp.cells if exp.for_cell(c).augmentation != "none"]


def parse_feature_options(items: list[str]) -> dict[str, dict]:
    """``["w2v2_mean.layer=6", ...]`` -> ``{"w2v2_mean": {"layer": 6}}`` (values as YAML)."""
    import yaml


    options: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        name, dot, option = key.strip().partition(".")
        if not sep or not dot or not name or not option:
            raise PrepareError(f"--feature-option {item!r}: expected SET.KEY=VALUE, e.g. "
                               "w2v2_mean.layer=6")
        try:
            options.setdefault(name, {})[option] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise PrepareError(f"--feature-option {item!r}: not a YAML value ({err})") from None
    return options


def _common(parser: argparse.ArgumentParser, default_encoder: str) -> None:
    from data_prep.prepare import DEFAULT_FEATURES

    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("SER_KERAS_DATA", "data")),
                        help="store root (default: $SER_KERAS_DATA or ./data)")
    parser.add_argument("--features", type=_feature_list, default=None,
                        help=f"comma-separated feature sets (default: {','.join(DEFAULT_FEATURES)}"
                             f"; audio only for corpora without transcripts)")
    parser.add_argument("--for", dest="for_experiment", metavar="PAPER/TABLE",
                        help="prepare exactly the feature sets the cells of this experiment "
                             "read (e.g. ho2020/table3; or an experiment YAML path)")
    parser.add_argument("--text-encoder", default=default_encoder,
                        help="BERT checkpoint: bert-base-uncased, hf://..., a local HF "
                             "directory, or minilm-l6 (default: %(default)s)")
    parser.add_argument("--feature-option", action="append", default=[], dest="feature_options",
                        metavar="SET.KEY=VALUE",
                        help="an option of one feature set, e.g. w2v2_mean.checkpoint=/dir or "
                             "w2v2_mean.layer=6 (repeatable; recorded in the set's metadata)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes for audio (default: all cores)")
    parser.add_argument("--shard-size", type=int, default=256,
                        help="utterances per TFRecord shard (default: %(default)s)")
    parser.add_argument("--augment", metavar="noise[:snr=DB,copies=N]", default=None,
                        help="add N noisy copies of every usable utterance (white Gaussian "
                             "noise at DB dB SNR; defaults snr=20, copies=1) as rows "
                             "<utt_id>~noise<k> with their own features (kakuba2023 Sec. III-D); "
                             "'none' removes the copies of an earlier run")
    parser.add_argument("--transcripts", metavar="CSV", default=None,
                        help="UTF-8 CSV with header utt_id,text: its text replaces the release's "
                             "transcript of those utterances (e.g. ASR for MSP-Podcast v1.7, "
                             "which has none); kept with the store for later runs, "
                             "'none' drops the kept ones")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--verify", action="store_true",
                        help="extract nothing: check every shard of the corpus store (marker, "
                             "size, sha256, records; the --features sets only, when given), "
                             "print the bad ones, exit 1 when any is bad")
    parser.add_argument("--wait", action="store_true",
                        help="when another ser-prepare holds this corpus store's lock "
                             "(<out>/<corpus>/.prepare.lock), wait for it instead of failing")


def build_parser() -> argparse.ArgumentParser:
    from data_prep.corpora.demo import LAYOUTS, MSP_SEED_OFFSET, SIZES

    parser = argparse.ArgumentParser(
        prog="ser-prepare", description="Prepare a corpus into the ser-keras feature store.")
    sub = parser.add_subparsers(dest="corpus", required=True, metavar="CORPUS")
    demo = sub.add_parser("demo", help="generate the synthetic demo corpus and prepare it")
    demo.add_argument("--size", choices=sorted(SIZES), default="small")
    demo.add_argument("--seed", type=int, default=0,
                      help="generation seed (default: %(default)s); the msp-podcast layout draws "
                           f"its utterances with seed+{MSP_SEED_OFFSET}, so they differ from the "
                           "IEMOCAP layout's")
    demo.add_argument("--layout", choices=LAYOUTS, default="iemocap",
                      help="iemocap (default): an IEMOCAP_full_release tree, store corpus "
                           "'demo'; msp-podcast: an MSP-Podcast release (Audios/, Labels/, "
                           "Transcripts/), store corpus 'demo-msp', other utterances and ids, "
                           "for cross-corpus runs; each read by the real adapter")
    _common(demo, default_encoder="minilm-l6")
    for name in ADAPTERS:
        corpus = sub.add_parser(name, help=f"prepare a {name} release")
        corpus.add_argument("source", type=Path, help="path to the release as distributed")
        _common(corpus, default_encoder="bert-base-uncased")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print("ser-prepare: error: --workers must be >= 1", file=sys.stderr)
        return 2
    command = "ser-prepare " + " ".join(shlex.quote(a) for a in argv)
    from data_prep.augment import parse_spec

    try:
        augment = parse_spec(args.augment)  # before any work: a typo fails in a second
    except PrepareError as err:
        print(f"ser-prepare: error: --augment: {err}", file=sys.stderr)
        return 2
    if args.for_experiment:
        if args.features:
            print("ser-prepare: error: give --features or --for, not both", file=sys.stderr)
            return 2
        try:
            args.features = experiment_features(args.for_experiment, args.corpus)
        except (SerKerasError, argparse.ArgumentTypeError) as err:
            print(f"ser-prepare: error: --for {args.for_experiment}: {err}", file=sys.stderr)
            return 2
        print(f"{args.for_experiment} reads: {', '.join(args.features)}")
        wanting = experiment_augmentation(args.for_experiment, args.corpus)
        if wanting and augment is None:
            print(f"note: cell(s) {', '.join(wanting)} of {args.for_experiment} train on "
                  "augmented copies: add --augment noise (or train them with --set "
                  "augmentation=none)")
    corpus = DEMO_MSP if args.corpus == "demo" and args.layout == "msp-podcast" else args.corpus
    from ser_keras import locks, store

    if args.verify:
        if not store.corpus_dir(args.out, corpus).is_dir():
            print(f"ser-prepare: error: {store.corpus_dir(args.out, corpus)}: no prepared "
                  "corpus here, nothing to verify", file=sys.stderr)
            return 2
    try:
        with locks.exit_on_sigterm(), locks.acquire(
                store.corpus_dir(args.out, corpus) / LOCK_NAME, wait=args.wait,
                command=command, hint=LOCK_HINT):
            if args.verify:
                return _verify(args.out, corpus, args.features)
            return _prepare(args, corpus, command, augment)
    except (locks.LockError, store.StoreError) as err:
        print(f"ser-prepare: error: {err}", file=sys.stderr)
        return 2


LOCK_NAME = ".prepare.lock"   # <out>/<corpus>/.prepare.lock: one ser-prepare per corpus store
LOCK_HINT = ("another ser-prepare is working on this corpus store: wait for it with --wait, "
             "or stop that process")


def _verify(out: Path, corpus: str, features: list[str] | None) -> int:
    """``--verify``: one line per bad shard, the notes, a summary; 1 when any is bad."""
    from ser_keras import store

    report = store.verify_corpus(out, corpus, features)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _prepare(args, corpus: str, command: str, augment) -> int:
    from data_prep.prepare import prepare, summary_lines

    if corpus == DEMO_MSP:
        from data_prep.corpora import demo

        source = args.out / "sources" / f"{DEMO_MSP}-{args.size}-seed{args.seed}"
        print(f"generating the MSP-Podcast-layout demo corpus ({args.size}, seed {args.seed}: "
              f"utterances drawn with seed {args.seed + demo.MSP_SEED_OFFSET}) in {source}")
        demo.generate(source, size=args.size, seed=args.seed, layout="msp-podcast")
        adapter = msp_podcast  # an MSP-Podcast-layout release, read by the real adapter
    elif args.corpus == "demo":
        from data_prep.corpora import demo

        source = args.out / "sources" / f"demo-{args.size}-seed{args.seed}"
        print(f"generating the demo corpus ({args.size}, seed {args.seed}) in {source}")
        demo.generate(source, size=args.size, seed=args.seed)
        adapter = iemocap  # the demo is an IEMOCAP-layout release, read by the real adapter
    else:
        source, adapter = args.source, ADAPTERS[args.corpus]
    try:
        report = prepare(corpus, source, args.out, adapter, args.features,
                         text_encoder=args.text_encoder, workers=args.workers,
                         feature_options=parse_feature_options(args.feature_options),
                         shard_size=args.shard_size, progress=not args.quiet, command=command,
                         augment=args.augment if augment is None else augment,
                         transcripts=args.transcripts)
    except PrepareError as err:
        print(f"ser-prepare: error: {err}", file=sys.stderr)
        return 2
    for line in summary_lines(report):
        print(line)
    print(f"store: {args.out / corpus}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
