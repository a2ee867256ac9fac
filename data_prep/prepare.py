"""The prepare pipeline: corpus release -> manifest -> feature sets in the store.

``prepare()`` is what ``ser-prepare <corpus> <path>`` runs, in four stages:

1. scan: the corpus adapter lists every utterance with a status (label problems); with
   ``transcripts`` (``--transcripts CSV``, see ``data_prep.transcripts``) the user's text then
   replaces the release's for the utt_ids the CSV names (kept for later runs);
2. audio check (worker processes): missing, unreadable, empty, non-finite (NaN / Inf samples),
   too short (under ``data_prep.audio.MIN_DURATION_S``) or silent audio get a status, and a
   problem line naming the file (``data_prep.audio.check_audio``); with ``augment``
   (``--augment noise:snr=20,copies=2``, see ``data_prep.augment``) every usable utterance
   then gets its augmented copies as extra rows;
3. the manifest is written (``<out>/<corpus>/manifest.csv``);
4. extraction: audio feature sets run in worker processes, each utterance decoded ONCE for all
   requested audio sets (a copy: its source's audio plus the copy's own noise); text sets run
   batched in this process (a copy: its source's transcript). Each feature set is written
   shard by shard; complete shards are skipped on a re-run, so an interrupted prepare is
   finished by running the same command again. A re-run first checks every complete shard's
   bytes against its marker (sha256, ``store.FeatureSetWriter``): one that no longer matches
   (flipped bytes, a cut file) is re-extracted, with a line naming it; a marker written before
   markers had a checksum gets one once its records are read and match it. Nothing
   non-finite is stored: the shard writer refuses an array holding NaN or Inf
   (``non_finite_features``), an extractor failure is recorded as ``extract_error: ...``;
   either way the utterance is a failure of that feature set in its shard marker, counted in
   the report, with a problem line naming the file, the utterance and the set.

Copies are a pure function of the checked rows and the spec, so the same command writes the
same manifest (same hash) and resumes. Another ``--augment`` (or none) writes another manifest:
every requested set is then rebuilt by its writer (manifest hash changed), and sets of the
store not requested this time are named in the log and the report as stale (readers refuse
them until they are rebuilt).

Memory stays bounded by one shard of features (``shard_size`` utterances) at a time.
"""
from __future__ import annotations

import collections
import json
import multiprocessing
import os
import platform
import time
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from data_prep import augment as augmentation
from data_prep import transcripts as user_transcripts
from data_prep.audio import AudioError, check_audio, load_audio
from data_prep.errors import PrepareError
from data_prep.features import FEATURE_SETS, get_feature_set
from ser_keras import store

DEFAULT_FEATURES = ("mfcc39_smile", "bert_tokens")  # ho2020's inputs


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------
# Worker side (module-level functions: they are pickled by reference into worker processes)
# --------------------------------------------------------------------------------------------
_WORKER_FEATURES: dict = {}


def _init_worker(features: dict) -> None:
    _WORKER_FEATURES.clear()
    _WORKER_FEATURES.update(features)
    # Load the extractors' libraries now (openSMILE configs, librosa's numba code), so that
    # start-up is paid here and the extraction rate is the steady one.
    import numpy as np

    noise = np.random.default_rng(0).normal(0, 0.01, 8000).astype(np.float32)
    for feature in features.values():
        try:
            feature.extract(noise)
        except Exception:  # noqa: BLE001 - a real failure is recorded per utterance later
            pass


def _ready(_) -> int:
    return os.getpid()


def _check(row: dict) -> dict:
    return check_audio(row["audio_path"], _float(row.get("start_s")), _float(row.get("end_s")))


def _extract(task: tuple) -> tuple[str, dict, dict]:
    """Decode one utterance once and run every requested audio feature set on it.

    Returns ``(utt_id, outputs, errors)``: ``errors`` maps a set to its failure reason. Audio
    that cannot be decoded fails every set (its status, e.g. ``nonfinite_audio``); an
    extractor that raises fails its own set only (``extract_error: ...``), the others keep their
    outputs. Feature sets of one ``group`` (e.g. eGeMAPS LLDs and functionals) come from one
    ``extract_group`` pass of their extractor (and fail together).
    """
    utt_id, path, start_s, end_s, names, snr_db = task
    outputs, errors, signals, groups = {}, {}, {}, {}
    for name in names:
        feature = _WORKER_FEATURES[name]
        try:
            if feature.sample_rate not in signals:
                signal = load_audio(path, feature.sample_rate, start_s, end_s)
                if snr_db is not None:
                    # An augmented copy: noise at the rate the extractor sees, so the SNR holds
                    # in its band; a fresh generator per rate keeps it independent of set order.
                    signal = augmentation.add_noise(signal, snr_db,
                                                    augmentation.rng_for(utt_id))
                signals[feature.sample_rate] = signal
        except AudioError as err:
            return utt_id, {}, {n: err.status for n in names}
        except Exception as err:  # noqa: BLE001 - recorded per utterance, the corpus goes on
            return utt_id, {}, {n: _extract_error(err) for n in names}
        signal = signals[feature.sample_rate]
        group = getattr(feature, "group", None)
        if group is not None and group not in groups:
            try:
                groups[group] = feature.extract_group(signal)
            except Exception as err:  # noqa: BLE001 - every set of the group fails
                groups[group] = _extract_error(err)
        try:
            result = feature.extract(signal) if group is None else groups[group]
            if isinstance(result, str):   # the group's failure
                errors[name] = result
            else:
                outputs[name] = result if group is None else result[name]
        except Exception as err:  # noqa: BLE001 - recorded per utterance and set
            errors[name] = _extract_error(err)
    return utt_id, outputs, errors


def _extract_error(err: Exception) -> str:
    return " ".join(f"extract_error: {type(err).__name__}: {err}".split())[:300]


def _float(value) -> float | None:
    return float(value) if value not in (None, "") else None


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


class _Executor:
    """``imap`` over a pool of spawned workers, or in this process when workers == 1."""

    def __init__(self, workers: int, features: dict):
        self.workers = workers
        self.pool = None
        started = time.perf_counter()
        if workers > 1:
            # One thread per worker process: numerical libraries read these when they load,
            # so they must be in the environment the workers are spawned with.
            saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
            os.environ.update({k: "1" for k in _THREAD_VARIABLES})
            try:
                self.pool = multiprocessing.get_context("spawn").Pool(
                    workers, initializer=_init_worker, initargs=(features,))
                self.pool.map(_ready, range(workers), chunksize=1)  # wait until they are up
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        else:
            _init_worker(features)
        self.start_seconds = time.perf_counter() - started

    def imap(self, fn, items, chunksize=1):
        if self.pool is None:
            return map(fn, items)
        return self.pool.imap(fn, items, chunksize=chunksize)

    def close(self, ok: bool):
        if self.pool is not None:
            (self.pool.close if ok else self.pool.terminate)()
            self.pool.join()


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------
def prepare(corpus: str, source: str | Path, out: str | Path, adapter,
            features: Sequence[str] | None = None, *, text_encoder: str | None = None,
            feature_options: dict[str, dict] | None = None,
            workers: int | None = None, shard_size: int = store.DEFAULT_SHARD_SIZE,
            progress: bool = True, command: str | None = None,
            augment: str | augmentation.Augmentation | None = None,
            transcripts: str | Path | None = None,
            log: Callable[[str], None] = print) -> dict:
    """Prepare ``source`` as ``corpus`` into the store at ``out``; return the prepare report.

    ``features`` None: ho2020's inputs (``DEFAULT_FEATURES``), without the text sets when the
    corpus has no transcripts; text sets asked for explicitly on such a corpus are an error.
    ``augment``: an augmentation spec (``noise:snr=20,copies=1``, see ``data_prep.augment``)
    or None; every usable utterance gets that many noisy copies (rows and features).
    ``feature_options``: {feature set: {option: value}} passed to those sets (e.g.
    ``{"w2v2_mean": {"checkpoint": "/dir", "layer": 6}}``; ``ser-prepare --feature-option``).
    ``transcripts``: a CSV (utt_id,text) whose text replaces the release's; None keeps the
    text of an earlier run's CSV (stored with the corpus), ``"none"`` drops it
    (``data_prep.transcripts``).
    """
    # "none" (explicit): remove the copies an earlier run made; None: keep none, but refuse to
    # drop existing copies silently (below)
    drop_copies = isinstance(augment, str) and augment.strip() == "none"
    augment = augmentation.parse_spec(augment)
    timings: dict[str, float] = {}
    workers = workers or default_workers()
    out = Path(out)
    corpus_dir = store.corpus_dir(out, corpus)
    corpus_dir.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    scan = adapter.scan(source, corpus=corpus)
    timings["scan_s"] = time.perf_counter() - t
    rows = scan.rows
    texts = user_transcripts.apply(rows, transcripts, corpus_dir, corpus, scan.problems, log)

    explicit = features is not None
    features = list(features if explicit else DEFAULT_FEATURES)
    text_names = [n for n in features if FEATURE_SETS[n].modality == "text"]
    if text_names and not any(r.get("text") for r in rows):
        if explicit:
            raise PrepareError(f"{source}: {corpus} has no transcripts, so text feature sets "
                               f"({', '.join(text_names)}) cannot be extracted; leave them out "
                               f"of --features, or give transcripts with --transcripts CSV")
        log(f"{corpus} has no transcripts: preparing audio feature sets only")
        features = [n for n in features if n not in text_names]
    command = command or (f"ser-prepare {corpus} {source} --out {out} --features "
                          f"{','.join(features)}" + (f" --augment {augment}" if augment else "")
                          + (f" --transcripts {transcripts}" if transcripts else ""))
    feature_options = dict(feature_options or {})
    unknown = sorted(set(feature_options) - set(features))
    if unknown:
        raise PrepareError(f"--feature-option: {', '.join(unknown)} not among the feature sets "
                           f"prepared ({', '.join(features)})")
    instances = {}
    for name in features:
        options = {"text_encoder": text_encoder} if (
            FEATURE_SETS[name].modality == "text" and text_encoder) else {}
        options.update(feature_options.get(name, {}))
        try:
            instances[name] = get_feature_set(name, **options)
        except TypeError as err:  # an option the set does not have
            raise PrepareError(f"--feature-option {name}: {err}") from None
    audio_sets = {n: f for n, f in instances.items() if f.modality == "audio"}
    text_sets = {n: f for n, f in instances.items() if f.modality == "text"}
    # Describe every set now: a text encoder that cannot load fails before hours of audio work.
    descriptions = {name: feature.describe() for name, feature in instances.items()}

    executor = _Executor(workers, audio_sets)
    timings["workers_start_s"] = executor.start_seconds
    ok = False
    try:
        t = time.perf_counter()
        to_check = [r for r in rows if r["status"] == store.STATUS_OK]
        checks = executor.imap(_check, to_check, chunksize=8)
        for row, result in zip(to_check, _bar(checks, len(to_check), "audio check", progress)):
            row.update(status=result["status"], duration_s=result["duration_s"],
                       sample_rate=result["sample_rate"])
            if result["status"] != store.STATUS_OK:
                scan.problems.append(result["message"] or
                                     f"{row['audio_path']}: {result['status']}")
        timings["audio_check_s"] = time.perf_counter() - t

        # Copies of the usable rows only: a source the check rejected gets none.
        copies = augmentation.copies_of(rows, augment, store.STATUS_OK)
        if augment is None and not drop_copies:
            earlier = _earlier_augmentation(store.manifest_path(out, corpus))
            if earlier is not None:
                raise PrepareError(
                    f"{store.manifest_path(out, corpus)} holds augmented copies ({earlier}): "
                    f"re-run with --augment {earlier} to keep them, or --augment none to "
                    "remove them (and rebuild every feature set without them)")
        manifest_sha = store.write_manifest(store.manifest_path(out, corpus), rows + copies)
        stale = _stale_sets(out, corpus, manifest_sha, features, log)
        usable = [r for r in sorted(rows + copies, key=lambda r: r["utt_id"])
                  if r["status"] == store.STATUS_OK]
        usable_ids = [r["utt_id"] for r in usable]
        by_id = {r["utt_id"]: r for r in usable}

        t = time.perf_counter()
        if audio_sets:
            writers = _writers(audio_sets, descriptions, out, corpus, manifest_sha, usable_ids,
                               shard_size, command, log)
            _extract_audio(executor, audio_sets, writers, by_id, progress)
        timings["extract_audio_s"] = time.perf_counter() - t
        ok = True
    finally:
        executor.close(ok)

    t = time.perf_counter()
    for name, feature in text_sets.items():
        writer = _writers({name: feature}, descriptions, out, corpus, manifest_sha, usable_ids,
                          shard_size, command, log)[name]
        _extract_text(feature, writer, by_id, progress)
    timings["extract_text_s"] = time.perf_counter() - t

    report = _report(corpus, source, rows, scan.problems, out, timings, workers, list(features),
                     {r["utt_id"]: r.get("audio_path") or "" for r in rows + copies})
    report["augmentation"] = _augmentation_report(augment, copies)
    report["stale_feature_sets"] = stale
    report["transcripts"] = texts.report(rows)
    store.atomic_write_json(corpus_dir / "prepare_report.json", report)
    return report


def _stale_sets(out, corpus, manifest_sha, features, log) -> list[str]:
    """Feature sets on disk, not requested now, built from another manifest (log them).

    Their writers are not run, so nothing rebuilds them: readers refuse them (manifest hash
    check) until a prepare that requests them runs with the manifest of this one.
    """
    stale = []
    root = store.corpus_dir(out, corpus) / "features"
    for meta_path in sorted(root.glob("*/metadata.json")):
        name = meta_path.parent.name
        if name in features:
            continue
        try:
            found = json.loads(meta_path.read_text()).get("manifest_sha256")
        except (OSError, ValueError, AttributeError):
            found = None
        if found != manifest_sha:
            stale.append(name)
    if stale:
        log(f"{corpus}: the manifest changed (utterances or --augment), so feature set(s) "
            f"{', '.join(stale)} no longer match it and will be refused by readers; rebuild "
            f"them by adding them to --features with the same --augment")
    return stale


def _earlier_augmentation(manifest) -> augmentation.Augmentation | None:
    """The augmentation spec of the copies in an existing manifest (None: none, or no file)."""
    if not Path(manifest).is_file():
        return None
    labels = [r["augmentation"] for r in store.read_manifest(manifest) if r.get("source_id")]
    if not labels:
        return None
    recipe, _ = augmentation.parse_label(labels[0])
    copies = max(augmentation.parse_label(label)[1] for label in labels)
    return augmentation.parse_spec(f"{recipe.kind}:snr={recipe.snr_db:g},copies={copies}")


def _augmentation_report(augment, copies: list[dict]) -> dict | None:
    if augment is None:
        return None
    return dict(augment.to_dict(), copy_rows=len(copies),
                sources=len({c["source_id"] for c in copies}),
                by_label=dict(sorted(collections.Counter(c.get("label") or "" for c in copies)
                                     .items())))


def _bar(iterable, total, desc, progress):
    return tqdm(iterable, total=total, desc=desc, unit="utt", disable=not progress,
                dynamic_ncols=True, leave=False)


def _writers(instances: dict, descriptions: dict, out, corpus, manifest_sha, usable_ids,
             shard_size, command, log) -> dict:
    return {name: store.FeatureSetWriter(out, corpus, descriptions[name], manifest_sha,
                                         usable_ids, shard_size, command, log)
            for name in instances}


def _extract_audio(executor, audio_sets, writers, by_id, progress):
    """Every pending shard of every audio set, in one stream of utterances over the workers.

    One ordered ``imap`` over all pending utterances keeps the workers busy across shard
    boundaries; a shard is committed as soon as its last utterance is written, so at most the
    shards in flight are held (bounded by the workers' read-ahead, not by the corpus).
    """
    plan = next(iter(writers.values())).shards
    pending = {name: set(w.pending()) for name, w in writers.items()}
    todo = [i for i in range(len(plan)) if any(i in p for p in pending.values())]
    names_of = {i: tuple(n for n in audio_sets if i in pending[n]) for i in todo}
    tasks = ((u, by_id[u]["audio_path"], _float(by_id[u].get("start_s")),
              _float(by_id[u].get("end_s")), names_of[i], _snr_of(by_id[u]))
             for i in todo for u in plan[i])
    total = sum(len(plan[i]) for i in todo)
    open_shards: dict[int, dict] = {}
    results = executor.imap(_extract, tasks, chunksize=4)
    try:
        with _bar(None, total, "audio features", progress) as bar:
            for index in todo:
                shards = open_shards[index] = {n: writers[n].open_shard(index)
                                               for n in names_of[index]}
                for _ in plan[index]:
                    utt_id, outputs, errors = next(results)
                    for name, shard in shards.items():
                        if name in errors:
                            shard.fail(utt_id, errors[name])
                        else:  # refused (not stored, a marker failure) when not finite
                            shard.write(utt_id, outputs[name])
                    bar.update()
                for shard in shards.values():
                    shard.commit()
                del open_shards[index]
    except BaseException:
        for shards in open_shards.values():
            for shard in shards.values():
                shard.abort()
        raise


def _snr_of(row: dict) -> float | None:
    """The SNR of an augmented copy's noise (from its manifest row); None for an original."""
    if not augmentation.is_copy(row):
        return None
    recipe, _ = augmentation.parse_label(row["augmentation"])
    return recipe.snr_db


def _extract_text(feature, writer, by_id, progress):
    """Text sets shard by shard; an augmented copy gets its source's transcript's arrays
    (computed once per shard for the source and its copies there: no noise reaches text)."""
    todo = writer.pending()
    total = sum(len(writer.shards[i]) for i in todo)
    with _bar(None, total, feature.name, progress) as bar:
        for index in todo:
            ids = writer.shards[index]
            shard = writer.open_shard(index)
            try:
                key_of = {u: by_id[u].get("source_id") or u for u in ids}
                text_of: dict[str, str] = {}   # key -> transcript, first-seen order
                for u in ids:
                    text_of.setdefault(key_of[u], by_id[u]["text"] or "")
                computed = dict(zip(text_of, feature.extract_batch(list(text_of.values()))))
                for utt_id in ids:
                    array, note = computed[key_of[utt_id]]
                    shard.write(utt_id, array, note)
                shard.commit()
            except BaseException:
                shard.abort()
                raise
            bar.update(len(ids))


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for package in ("ser-keras", "numpy", "soundfile", "soxr", "librosa", "opensmile",
                    "tensorflow", "keras", "keras-hub"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


# Why a feature set holds no record of an utterance (a shard marker's failure reason), in words.
_FAILURE_WORDS = {
    "non_finite_features": "its features hold NaN or Inf values",
    "out_of_float16_range": "its features exceed float16's range",
    "nonfinite_audio": "its decoded audio holds NaN or Inf samples",
}


def _failure_lines(feature_summary: dict, paths: dict[str, str]) -> list[str]:
    """One problem line per (feature set, failed utterance), naming the file, utterance, set."""
    lines = []
    for name, info in feature_summary.items():
        for utt_id, reason in sorted(info["failed_utterances"].items()):
            words = _FAILURE_WORDS.get(reason.split(":")[0], "extraction failed")
            lines.append(f"{paths.get(utt_id) or '(no audio path)'}: {utt_id} not stored in "
                         f"feature set {name}: {words} ({reason})")
    return lines


def _report(corpus, source, rows, problems, out, timings, workers, features,
            paths: dict[str, str] | None = None) -> dict:
    """The prepare report; ``paths`` (utt_id -> audio path) names the files of the failures."""
    by_status = collections.Counter(r["status"] for r in rows)
    ok_rows = [r for r in rows if r["status"] == store.STATUS_OK]
    audio_s = sum(float(r["duration_s"]) for r in ok_rows if r.get("duration_s"))
    feature_summary = {}
    for name, summary in store.iter_marker_summaries(out, corpus):
        if name not in features:
            continue
        feature_summary[name] = {
            "records": summary["records"],
            "failures": dict(collections.Counter(summary["failures"].values())),
            "failed_utterances": summary["failures"],
            "notes": dict(collections.Counter(summary["notes"].values())),
        }
    extract_s = timings.get("extract_audio_s", 0.0)
    return {
        "corpus": corpus,
        "source": str(Path(source).resolve()),
        "utterances": len(rows),
        "usable": len(ok_rows),
        "by_status": dict(sorted(by_status.items())),
        "by_label": dict(sorted(collections.Counter(r.get("label") or "" for r in ok_rows).items())),
        "by_status_and_label": {
            s: dict(sorted(collections.Counter(r.get("label") or "" for r in rows
                                               if r["status"] == s).items()))
            for s in sorted(by_status)},
        "audio_seconds": round(audio_s, 3),
        "problems": list(problems) + _failure_lines(feature_summary, paths or {}),
        "features": feature_summary,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "audio_x_realtime": round(audio_s / extract_s, 1) if extract_s > 0 else None,
        "workers": workers,
        "versions": _versions(),
    }


def summary_lines(report: dict) -> list[str]:
    """The console summary of a prepare report."""
    skipped = {s: n for s, n in report["by_status"].items() if s != store.STATUS_OK}
    lines = [f"{report['corpus']}: {report['usable']} of {report['utterances']} utterances "
             f"usable ({report['audio_seconds'] / 60:.1f} min of audio)"
             + (f"; unusable: {', '.join(f'{n} {s}' for s, n in skipped.items())}"
                if skipped else "")]
    lines.append("  by label (usable): " + ", ".join(
        f"{label or '(none)'} {n}" for label, n in report["by_label"].items()))
    for name, info in report["features"].items():
        extra = []
        if info["failures"]:
            extra.append("failed: " + ", ".join(f"{n} {r}" for r, n in info["failures"].items()))
        if info["notes"]:
            extra.append("notes: " + ", ".join(f"{n} {r}" for r, n in info["notes"].items()))
        lines.append(f"  {name}: {info['records']} records" + (f" ({'; '.join(extra)})"
                                                             if extra else ""))
    augmented = report.get("augmentation")
    if augmented:
        lines.append(f"  augmentation {augmented['spec']}: {augmented['copy_rows']} copies of "
                     f"{augmented['sources']} utterances (utt_id <source>~noise<k>)")
    transcripts_line = user_transcripts.summary_line(report.get("transcripts"))
    if transcripts_line:
        lines.append(transcripts_line)
    if report.get("stale_feature_sets"):
        lines.append(f"  stale (built from another manifest, refused by readers): "
                     f"{', '.join(report['stale_feature_sets'])}")
    if report["problems"]:
        lines.append(f"  {len(report['problems'])} problem(s) in the source, first ones:")
        lines += [f"    {p}" for p in report["problems"][:10]]
    timings = ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in report["timings_s"].items())
    speed = (f"; audio features at {report['audio_x_realtime']}x real time"
             if report["audio_x_realtime"] else "")
    lines.append(f"  time: {timings}{speed} ({report['workers']} workers)")
    return lines
