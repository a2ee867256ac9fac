"""Prepare throughput per feature set, in x real time (audio seconds / wall seconds).

    python benchmarks/prepare_throughput.py                       # the demo corpus (small)
    python benchmarks/prepare_throughput.py --corpus iemocap --source /data/IEMOCAP_full_release
    python benchmarks/prepare_throughput.py --features mfcc39_smile --workers 1,2

Each feature set (and the bundle of all of them, when several are given) is prepared into a
fresh temporary store, so nothing is skipped as already done. Printed per run: the stage times
of the prepare report (scan, audio check incl. worker start-up, extraction), the extraction
rate in x real time, and for text sets sentences per second.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data_prep.corpora import ADAPTERS, demo, iemocap  # noqa: E402
from data_prep.prepare import default_workers, prepare  # noqa: E402


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class PeakMemory:
    """Samples the memory of this process tree every 50 ms while active."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()

        def sample():
            while not self._stop.wait(0.05):
                self.peak = max(self.peak, tree_rss_bytes(os.getpid()))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_once(corpus, source, adapter, features, workers, text_encoder):
    with tempfile.TemporaryDirectory(prefix="ser-bench-") as out, PeakMemory() as memory:
        t = time.perf_counter()
        report = prepare(corpus, source, out, adapter, features, text_encoder=text_encoder,
                         workers=workers, progress=False, log=lambda m: None)
        wall = time.perf_counter() - t
    timings = report["timings_s"]
    audio_s = report["audio_seconds"]
    extract = timings["extract_audio_s"] + timings["extract_text_s"]
    line = (f"{'+'.join(features)}\n    workers={workers}  utts={report['usable']}  "
            f"audio={audio_s / 60:.1f} min  wall={wall:.1f}s (start-up {timings['workers_start_s']:.1f}s, "
            f"scan {timings['scan_s']:.1f}s, audio check {timings['audio_check_s']:.1f}s, "
            f"audio extract {timings['extract_audio_s']:.1f}s, "
            f"text extract {timings['extract_text_s']:.1f}s)  "
            f"steady extraction {audio_s / extract:.1f}x real time, whole command "
            f"{audio_s / wall:.1f}x; peak memory {memory.peak / 2**30:.2f} GiB")
    if timings["extract_text_s"] > 0:
        line += f"  text {report['usable'] / timings['extract_text_s']:.0f} sentences/s"
    print(line, flush=True)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="demo", choices=["demo", *ADAPTERS])
    parser.add_argument("--source", type=Path, help="release path (default: generate the demo)")
    parser.add_argument("--size", default="small", help="demo size when no --source is given")
    parser.add_argument("--features", default="mfcc39_smile,bert_tokens")
    parser.add_argument("--workers", default=str(default_workers()),
                        help="comma-separated worker counts to compare")
    parser.add_argument("--text-encoder", default="minilm-l6")
    parser.add_argument("--runs", choices=("each", "bundle", "both"), default="both",
                        help="time each feature set alone, all of them in one command "
                             "(the bundle), or both (default)")
    parser.add_argument("--repeat", type=int, default=1, help="repeat every measurement")
    args = parser.parse_args(argv)

    adapter = iemocap if args.corpus == "demo" else ADAPTERS[args.corpus]
    source = args.source
    if source is None:
        if args.corpus != "demo":
            parser.error("--source is required for a real corpus")
        source = Path(tempfile.gettempdir()) / f"ser-bench-demo-{args.size}"
        t = time.perf_counter()
        demo.generate(source, size=args.size, seed=0)
        print(f"demo corpus ({args.size}) ready in {time.perf_counter() - t:.1f}s: {source}")
    features = [f for f in args.features.split(",") if f]
    runs = [[f] for f in features] if args.runs != "bundle" else []
    if len(features) > 1 and args.runs != "each":
        runs.append(features)
    print(f"cores available: {default_workers()}")
    for workers in (int(w) for w in args.workers.split(",")):
        for run in runs:
            for _ in range(args.repeat):
                run_once(args.corpus, source, adapter, run, workers, args.text_encoder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
