"""openSMILE (e)GeMAPS feature sets from ONE openSMILE pass per utterance.

Sets (all from the configs shipped with the ``opensmile`` package, Eyben et al. 2016):

* ``egemaps_lld``  (:class:`EGeMAPSLLD`), rank ``sequence``, ``(frames, 25)``: the eGeMAPSv02
  low-level descriptors (``FeatureLevel.LowLevelDescriptors``), one row per 10 ms;
* ``egemaps_func`` (:class:`EGeMAPSFunc`), rank ``vector``, ``(88,)``: the eGeMAPSv02
  functionals (``FeatureLevel.Functionals``);
* ``gemaps_func``  (:class:`GeMAPSFunc`), rank ``vector``, ``(62,)``: the GeMAPSv01b
  functionals (alqurashi2024).

Column order = openSMILE's (``opensmile.Smile(...).feature_names``); each class lists it in
``feature_names`` (a tuple, filled on first use) and in ``describe()["feature_names"]``.

One pass. ``eGeMAPSv02.conf`` writes the LLDs to the dataMemory level ``lld`` and the
functionals to ``func``, and it *includes* the GeMAPSv01b LLD and functionals components
unchanged (every component has its own ``gemapsv01b_``/``egemapsv02_`` prefix; eGeMAPSv02
only adds components). ``opensmile.Smile`` includes
``shared/standard_external_data_output_single.conf.inc`` (one ``cExternalSink`` named
``extsink`` whose ``reader.dmLevel`` is the ``sinkLevel`` option = the feature level's
value, ``lld`` or ``func``), so it runs the whole graph once per level. Here the shipped
``shared/standard_external_data_output_multi.conf.inc`` is included instead: two sinks,
``extsinklld`` (option ``sinkLevelLLD`` = ``lld``) and ``extsinkfunc`` (``sinkLevelFunc``).
The functionals sink reads ``func`` *and* the five GeMAPSv01b functionals levels that
``GeMAPSv01b.conf`` concatenates into its own ``func``
(a ``cDataReader`` with ``dmLevel = a;b;...`` concatenates levels), so one ``run()`` fills
``(frames, 25)`` LLDs and a ``(1, 88 + 62)`` functionals row; columns 88: are exactly
GeMAPSv01b's functionals (same components, same inputs). All three sets therefore share
the group ``"egemaps_v02"``: :meth:`extract_group` returns all of them from one pass and
``extract`` returns ``extract_group(x)[self.name]``.

Golden values. With ``int16_input=True`` (default) the signal goes in exactly as
``opensmile.Smile.process_signal`` sends it: ``x * 32768`` truncated to int16, ``nBits = 16``
(the published sets were defined on 16-bit audio). The outputs are then bitwise equal to
``Smile(feature_set=FeatureSet.eGeMAPSv02 / GeMAPSv01b, feature_level=...)`` (tested). The
one deliberate difference: samples ``>= 1.0`` (``< -1.0``) saturate to 32767 (-32768) where
``Smile``'s cast wraps around. ``int16_input=False`` sends float32 samples unquantised
(``nBits = 33``); values then differ slightly from ``Smile``.

Frames. At 16 kHz the LLDs have ``(N - 800) // 160 + 1`` rows for ``N >= 960`` samples
(:func:`expected_lld_frames`; measured against ``Smile`` for N = 960..33333, checked on every
call) and none below 960 samples, where ``Smile`` returns NaN functionals. A signal shorter
than ``min_samples`` (default 1600 = 100 ms, must be >= 960) is therefore zero-padded at the end
to ``min_samples`` before extraction, so every set gets data; those outputs are the features
of the padded signal.

Speed: the configs are parsed once per process (the handle is ``reset()`` between
utterances), see :func:`throughput` and the report in the tests/README. Instances are
picklable; the openSMILE handle is created lazily per process.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any, ClassVar

import numpy as np

from data_prep.features.base import AudioFeature, require_finite
from data_prep.features.smile import CachedRunner, SmileHandle, import_opensmile

GROUP = "egemaps_v02"
"""Group name shared by the sets that come out of one eGeMAPSv02 pass."""

EGEMAPS_CONFIG = "egemaps/v02/eGeMAPSv02.conf"  # relative to opensmile's config root
LLD_LEVEL = "lld"
FUNC_LEVEL = "func"
GEMAPS_FUNC_LEVELS = (  # what GeMAPSv01b.conf's funcconcat reads, in its order
    "gemapsv01b_functionalsF0",
    "gemapsv01b_functionalsLoudness",
    "gemapsv01b_functionalsMeanStddevVoiced",
    "gemapsv01b_functionalsMeanSpectralUnvoiced",
    "gemapsv01b_temporalSet",
)
_SOURCE = "extsource"
_SINK_LLD = "extsinklld"  # names in opensmile's shared/standard_external_data_output_multi
_SINK_FUNC = "extsinkfunc"

DIMS = {"egemaps_lld": 25, "egemaps_func": 88, "gemaps_func": 62}


def _config_root() -> str:
    opensmile = import_opensmile()
    from opensmile.core.config import config as smile_config

    return os.path.join(os.path.dirname(opensmile.__file__), "core", smile_config.CONFIG_ROOT)


def smile_options(sample_rate: int = 16000, int16_input: bool = True) -> dict[str, Any]:
    """``\\cm`` options of the single pass (what ``Smile`` sets, with the two-sink output)."""
    import_opensmile()
    from opensmile.core.config import config as smile_config

    root = _config_root()
    return {
        "source": os.path.join(root, smile_config.EXTERNAL_INPUT_CONFIG),
        "sink": os.path.join(root, smile_config.EXTERNAL_OUTPUT_MULTI_CONFIG),
        "sinkLevelLLD": LLD_LEVEL,
        "sinkLevelFunc": ";".join((FUNC_LEVEL, *GEMAPS_FUNC_LEVELS)),
        "bufferModeRbConf": os.path.join(root, "shared/BufferModeRb.conf.inc"),
        "frameModeFunctionalsConf": os.path.join(root, "shared/FrameModeFunctionals.conf.inc"),
        "blockSize": 1,
        "sampleRate": int(sample_rate),
        "channels": 1,
        "nBits": 16 if int16_input else 33,
    }


def expected_lld_frames(num_samples: int, min_samples: int = 1600) -> int:
    """LLD rows :class:`EGeMAPSLLD` returns for ``num_samples`` samples at 16 kHz."""
    return (max(int(num_samples), int(min_samples)) - 800) // 160 + 1


def to_int16(x: np.ndarray) -> np.ndarray:
    """What ``opensmile.Smile`` does (``x * 32768`` truncated), saturating instead of wrapping."""
    return np.clip(np.asarray(x, dtype=np.float32) * np.float32(32768), -32768, 32767).astype(
        np.int16
    )


class _GroupRunner(SmileHandle):
    """One initialised eGeMAPSv02 openSMILE instance with two sinks, reused across utterances."""

    def __init__(self, sample_rate: int, int16_input: bool):
        import_opensmile()
        from opensmile.core.lib import OpenSMILE

        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.config_file = os.path.join(_config_root(), EGEMAPS_CONFIG)
        self.smile = OpenSMILE()
        self.smile.initialize(
            config_file=self.config_file,
            options=smile_options(sample_rate, int16_input),
            loglevel=2,
        )
        self.names = {}
        for sink in (_SINK_LLD, _SINK_FUNC):
            n = self.smile.external_sink_get_num_elements(sink)
            self.names[sink] = tuple(
                self.smile.external_sink_get_element_name(sink, i) for i in range(n)
            )
        n_lld, n_func = len(self.names[_SINK_LLD]), len(self.names[_SINK_FUNC])
        want = DIMS["egemaps_func"] + DIMS["gemaps_func"]
        if n_lld != DIMS["egemaps_lld"] or n_func != want:
            self.close()
            raise RuntimeError(
                f"{self.config_file} gives {n_lld} LLDs and {n_func} functionals, "
                f"expected {DIMS['egemaps_lld']} and {want}"
            )
        self.lld: list[np.ndarray] = []
        self.func: list[np.ndarray] = []

    def feature_names(self) -> dict[str, tuple[str, ...]]:
        func = self.names[_SINK_FUNC]
        n = DIMS["egemaps_func"]
        return {"egemaps_lld": self.names[_SINK_LLD], "egemaps_func": func[:n],
                "gemaps_func": func[n:]}

    def run(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            self.lld, self.func = [], []
            smile = self.smile
            try:
                smile.external_sink_set_callback_ex(
                    _SINK_LLD, lambda d, meta: self.lld.append(np.array(d, dtype=np.float32)))
                smile.external_sink_set_callback_ex(
                    _SINK_FUNC, lambda d, meta: self.func.append(np.array(d, dtype=np.float32)))
                # the wrapper keeps every registered callback alive; only the two newest are
                # registered now
                callbacks = getattr(smile, "_callbacks", None)
                if isinstance(callbacks, list) and len(callbacks) > 2:
                    del callbacks[:-2]
                if not smile.external_audio_source_write_data(_SOURCE, data):
                    raise RuntimeError("openSMILE refused the audio buffer")
                smile.external_audio_source_set_eoi(_SOURCE)
                smile.run()
                smile.reset()
            except BaseException:
                self.close()
                raise
            lld = (np.concatenate(self.lld, axis=0) if self.lld
                   else np.zeros((0, DIMS["egemaps_lld"]), np.float32))
            func = (np.concatenate(self.func, axis=0) if self.func
                    else np.zeros((0, DIMS["egemaps_func"] + DIMS["gemaps_func"]), np.float32))
            self.lld, self.func = [], []
        return lld, func


@dataclasses.dataclass
class _EGeMAPSGroup(CachedRunner, AudioFeature):
    """Shared machinery of the sets computed by one eGeMAPSv02 pass (see module docstring)."""

    group: ClassVar[str] = GROUP
    group_members: ClassVar[tuple[str, ...]] = tuple(DIMS)
    sample_rate: ClassVar[int] = 16000

    int16_input: bool = True  # quantise like opensmile.Smile (bitwise-equal outputs)
    min_samples: int = 1600  # shorter signals are zero-padded at the end to this many samples

    def __post_init__(self) -> None:
        if self.min_samples < 960:
            raise ValueError("min_samples must be >= 960 (60 ms) to give LLD frames")

    # --- metadata ---------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return {
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
            "opensmile_config": EGEMAPS_CONFIG,
            "one_pass_group": self.group,
        }

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Column names in openSMILE's order (``opensmile.Smile(...).feature_names``)."""
        return self._get_runner().feature_names()[self.name]

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["feature_names"] = list(self.feature_names)
        return d

    def versions(self) -> dict[str, str]:
        return {"opensmile": import_opensmile().__version__}

    # --- openSMILE --------------------------------------------------------------------------

    def _get_runner(self) -> _GroupRunner:
        key = (self.sample_rate, bool(self.int16_input))
        return self._cached_runner(key, lambda: _GroupRunner(*key))

    def extract_group(self, signal: np.ndarray) -> dict[str, np.ndarray]:
        """All sets of the group from ONE openSMILE pass:
        ``{"egemaps_lld": (frames, 25), "egemaps_func": (88,), "gemaps_func": (62,)}``."""
        x = np.asarray(signal)
        if x.ndim != 1:
            raise ValueError(f"expected a mono 1-D signal, got shape {x.shape}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        require_finite(x, self.name)  # a NaN has no int16 value: refused, not cast
        if x.size < self.min_samples:
            x = np.concatenate([x, np.zeros(self.min_samples - x.size, np.float32)])
        data = to_int16(x).tobytes() if self.int16_input else x.tobytes()
        lld, func = self._get_runner().run(data)
        if lld.shape[0] != expected_lld_frames(x.size, 960) or func.shape[0] != 1:
            raise RuntimeError(
                f"openSMILE gave {lld.shape[0]} LLD frames and {func.shape[0]} functionals "
                f"rows for {x.size} samples"
            )
        n = DIMS["egemaps_func"]
        return {"egemaps_lld": lld, "egemaps_func": func[0, :n].copy(),
                "gemaps_func": func[0, n:].copy()}

    def extract(self, signal: np.ndarray) -> np.ndarray:
        return self.extract_group(signal)[self.name]


@dataclasses.dataclass
class EGeMAPSLLD(_EGeMAPSGroup):
    """eGeMAPSv02 low-level descriptors, float32 ``(frames, 25)``, 10 ms hop.

    Frame length: 20 ms (energy/spectral LLDs) or 60 ms (F0, jitter, shimmer, HNR, formants);
    all smoothed over 3 frames (``_sma3``); ``frame_length_s`` reports the 60 ms.
    """

    name: ClassVar[str] = "egemaps_lld"
    dim: ClassVar[int] = 25
    rank: ClassVar[str] = "sequence"

    def frame_shift_s(self) -> float:
        return 0.010

    def frame_length_s(self) -> float:
        return 0.060


@dataclasses.dataclass
class EGeMAPSFunc(_EGeMAPSGroup):
    """eGeMAPSv02 functionals over the utterance, float32 ``(88,)``."""

    name: ClassVar[str] = "egemaps_func"
    dim: ClassVar[int] = 88
    rank: ClassVar[str] = "vector"


@dataclasses.dataclass
class GeMAPSFunc(_EGeMAPSGroup):
    """GeMAPSv01b functionals over the utterance, float32 ``(62,)`` (alqurashi2024).

    Computed in the eGeMAPSv02 pass: eGeMAPSv02.conf runs the GeMAPSv01b components
    unchanged, so these equal ``Smile(FeatureSet.GeMAPSv01b, FeatureLevel.Functionals)``.
    """

    name: ClassVar[str] = "gemaps_func"
    dim: ClassVar[int] = 62
    rank: ClassVar[str] = "vector"


def throughput(seconds: float = 60.0, repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """x real time (audio seconds per CPU second, best of ``repeats``) of: one pass (all three
    sets) vs three ``Smile``-style separate passes (each its own handle on its own
    config/level, reused), and ``opensmile.Smile.process_signal``, on 2-4 s chirp+noise
    utterances. Run it pinned to one core (``taskset -c 0``)."""
    import time

    opensmile = import_opensmile()
    from opensmile.core.lib import OpenSMILE
    from opensmile.core.config import config as smile_config

    rng = np.random.default_rng(seed)
    utts, total = [], 0
    while total < seconds * 16000:
        n = int(rng.integers(32000, 64000))
        t = np.arange(n) / 16000
        x = 0.3 * np.sin(2 * np.pi * (120 * t + 40 * t ** 2)) * np.abs(np.sin(2 * np.pi * t))
        utts.append((x + 0.02 * rng.standard_normal(n)).astype(np.float32))
        total += n
    audio_s = total / 16000
    root = _config_root()
    feat = EGeMAPSLLD()
    feat.extract_group(utts[0])

    def best(fn):
        times = []
        for _ in range(repeats):
            t0 = time.process_time()  # CPU time: robust to other load on the machine
            for u in utts:
                fn(u)
            times.append(time.process_time() - t0)
        return audio_s / min(times)

    result = {"one_pass_all_three": best(feat.extract_group)}
    separate = []
    for conf, level in (("egemaps/v02/eGeMAPSv02.conf", "lld"), ("egemaps/v02/eGeMAPSv02.conf",
                        "func"), ("gemaps/v01b/GeMAPSv01b.conf", "func")):
        s = OpenSMILE()
        opts = smile_options()
        opts.update(sink=os.path.join(root, smile_config.EXTERNAL_OUTPUT_SINGLE_CONFIG),
                    sinkLevel=level)
        s.initialize(config_file=os.path.join(root, conf), options=opts, loglevel=2)

        def one(u, s=s):
            s._callbacks.clear()
            s.external_sink_set_callback_ex("extsink", lambda d, m: None)
            s.external_audio_source_write_data(_SOURCE, to_int16(u).tobytes())
            s.external_audio_source_set_eoi(_SOURCE)
            s.run()
            s.reset()

        r = best(one)
        result[f"separate_{conf.split('/')[-1][:-5]}_{level}"] = r
        separate.append(r)
        s.free()
    result["separate_three_passes_combined"] = 1.0 / sum(1.0 / r for r in separate)
    smile_f = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                              feature_level=opensmile.FeatureLevel.Functionals)
    result["opensmile_Smile_egemaps_func"] = best(lambda u: smile_f.process_signal(u, 16000))
    return result
