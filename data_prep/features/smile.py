"""openSMILE MFCC feature set ``mfcc39_smile`` (ho2020, "MMFA-RNN", IEEE Access 2020, Sec. III-A).

The paper: "we use OpenSMILE toolkit to extract MFCC features ... audio frames of 100 ms
sampled at a rate of 50 ms using Hamming window ... the first feature is the log-energy of
sound. Then, it computes 12 MFCC (1-12) from 26 Mel-frequency bands, and applies a cepstral
liftering filter with a weight parameter of 22. The 13-delta and 13-acceleration
coefficients are appended ... mean normalized with respect to the full input sequence. The
frequency range of the Mel-spectrum is set from 0 to 8 kHz."

The openSMILE config is ``data_prep/configs/mfcc39_smile.conf`` (shipped as package data),
modelled on upstream openSMILE ``config/mfcc/MFCC12_E_D_A_Z.conf``; see its header for what
is mirrored from upstream (per-frame pre-emphasis 0.97, HTK log-energy of the raw frames,
HTK-compatible Mel/MFCC scaling, delta window 2, trailing partial frame dropped) and what
follows the paper instead (100/50 ms, log-energy first, mean over all 39 columns). The same
file works with ``opensmile.Smile(feature_set=CONFIG_PATH, feature_level="mfcc39")``.

Output of :meth:`SmileMfcc39.extract`: float32 ``(frames, 39)``, columns

* 0: log-energy, ``ln(max(1, 32767**2 * sum(x**2)))`` over the raw frame (HTK ``_E``),
* 1-12: MFCC 1..12 (26 HTK Mel bands on the power spectrum of the pre-emphasised,
  Hamming-windowed frame zero-padded to the next power of two, 0-8 kHz, DCT-II, lifter 22),
* 13-25: deltas of columns 0-12 (regression window 2),
* 26-38: accelerations (deltas of the deltas),

(the deltas are HTK's regression with the edge frames replicated, exactly; the
accelerations are too except on the last ``delta_window`` frames, where openSMILE's chained
``cDeltaRegression`` pads the end of the delta level differently at the end of the input,
as it does in upstream MFCC12_E_D_A_Z.conf),

all minus their mean over the utterance when ``mean_norm`` (openSMILE ``cFullinputMean``
in ``multiLoopMode = 1``, which includes every frame; each column's mean is then 0 up to
float32 rounding). With ``mean_norm=False`` the raw values come out.

Frames. With ``L = round_half_up(frame_size_s * sample_rate)`` and
``S = round_half_up(frame_step_s * sample_rate)`` samples (1600 and 800 for 100/50 ms at
16 kHz), openSMILE's ``cFramer`` (``frameMode = fixed``, ``frameCenterSpecial = left``,
``noPostEOIprocessing = 1``) makes frame ``k`` from samples ``[k*S, k*S + L)``: no centring,
no padding at the start, the trailing partial frame is dropped, so
``frames = 1 + (N - L) // S`` for ``N >= L`` (:func:`expected_frames`; checked against
openSMILE for N = 1597..48000 and odd sizes/steps). openSMILE itself rounds seconds to the
nearest sample; the extractor passes ``L / sample_rate`` and ``S / sample_rate``, so the count
does not depend on float rounding, and checks it on every call. A signal shorter than one frame
(``N < L``, including ``N = 0``) is zero-padded at the end to ``L`` samples and gives one
frame (all zeros after mean normalisation; never an empty array).

Speed. ``opensmile.Smile.process_signal`` re-parses the config for every call, quantises the
signal to int16 and builds a pandas DataFrame with a time MultiIndex. This module talks to
``libSMILEapi`` through ``opensmile.core.lib.OpenSMILE`` directly: the config is parsed once
per process and the instance is ``reset()`` between utterances, the float32 samples go in
unquantised (``cExternalAudioSource`` ``nBits = 33``: 32-bit float), and the frames are
copied from the sink callback into a preallocated array. Measured on one core
(``taskset -c 0``, 60 s of noise-like 16 kHz signal cut into 2-4 s utterances, best of 5):
~1350x real time here, against ~650x for ``Smile.process_signal`` with the same config
(a fresh ``OpenSMILE`` per utterance instead of ``reset()`` costs about a third).

Instances are picklable: the openSMILE handle is created lazily on the first ``extract``
in each process (and again after a fork or a change of a field) and is not pickled. Calls
on one instance from several threads are serialised by a lock.

Note: ``libSMILEapi`` takes file paths as ASCII, so the package (and opensmile) must be
installed under an ASCII path.
"""
from __future__ import annotations

import ctypes
import dataclasses
import importlib.util
import math
import os
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from data_prep.features.base import AudioFeature, require_finite

CONFIG_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "mfcc39_smile.conf"
)
"""The openSMILE config of this set (package data of ``data_prep``)."""

LEVEL_MEAN_NORM = "mfcc39"
"""dataMemory level with the utterance-mean-normalised 39 columns."""
LEVEL_RAW = "mfcc39raw"
"""dataMemory level with the same 39 columns before mean normalisation."""

_SOURCE = "extsource"  # component names in opensmile's shared external source/sink includes
_SINK = "extsink"


def _samples(seconds: float, sample_rate: int) -> int:
    """``seconds * sample_rate`` rounded half up (what openSMILE's cFramer does)."""
    return int(math.floor(seconds * sample_rate + 0.5))


def expected_frames(
    num_samples: int,
    sample_rate: int = 16000,
    frame_size_s: float = 0.100,
    frame_step_s: float = 0.050,
) -> int:
    """Number of frames :meth:`SmileMfcc39.extract` returns for ``num_samples`` samples.

    ``1 + (N - L) // S`` with ``L``/``S`` the frame size/step in samples (rounded half up);
    a signal shorter than one frame is zero-padded to one frame, so the result is >= 1.
    """
    size = _samples(frame_size_s, sample_rate)
    step = _samples(frame_step_s, sample_rate)
    if size < 1 or step < 1:
        raise ValueError(f"frame size/step must be >= 1 sample, got {size}/{step}")
    return 1 + (max(int(num_samples), size) - size) // step


def import_opensmile():
    """Import ``opensmile`` so that its C library is safe beside TensorFlow.

    Measured here: once TensorFlow is loaded, openSMILE (even the stock eGeMAPS through
    ``opensmile.Smile``) aborts with ``malloc(): invalid size`` — the dynamic linker binds
    symbols that both libraries define to TensorFlow's copies. Loading ``libSMILEapi`` first
    with ``RTLD_DEEPBIND`` makes it resolve its own symbols first, whatever was imported before.
    Every use of opensmile in this package goes through this function.
    """
    if "opensmile" not in sys.modules and sys.platform.startswith("linux"):
        spec = importlib.util.find_spec("opensmile")
        if spec is not None and spec.origin:
            for library in Path(spec.origin).parent.glob("core/bin/*/libSMILEapi.so"):
                try:
                    ctypes.CDLL(str(library), mode=os.RTLD_DEEPBIND | os.RTLD_LOCAL)
                except OSError:  # a build for another machine type
                    continue
    import opensmile

    return opensmile


class SmileHandle:
    """Owns one initialised openSMILE instance (``self.smile``): freed by ``close()`` or when
    the runner is garbage collected."""

    smile = None

    def close(self) -> None:
        if self.smile is not None:
            self.smile.free()
            self.smile = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass


class _Runner(SmileHandle):
    """One initialised openSMILE instance, reused (``reset``) across utterances."""

    def __init__(self, options: dict[str, Any], dim: int):
        import_opensmile()
        from opensmile.core.lib import OpenSMILE

        self.dim = dim
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.smile = OpenSMILE()
        self.smile.initialize(config_file=CONFIG_PATH, options=options, loglevel=2)
        n = self.smile.external_sink_get_num_elements(_SINK)
        if n != dim:
            self.close()
            raise RuntimeError(f"{CONFIG_PATH} gives {n} features per frame, expected {dim}")
        self.out: np.ndarray | None = None
        self.count = 0

    def _on_frames(self, data: np.ndarray, meta: Any) -> None:
        n = data.shape[0]
        out = self.out
        if out is not None and self.count + n <= out.shape[0]:
            out[self.count:self.count + n] = data
        self.count += n  # more frames than expected is reported by run()

    def run(self, signal: np.ndarray, num_frames: int) -> np.ndarray:
        with self.lock:
            self.out = np.empty((num_frames, self.dim), dtype=np.float32)
            self.count = 0
            smile = self.smile
            try:
                smile.external_sink_set_callback_ex(_SINK, self._on_frames)
                # the wrapper keeps every registered callback alive; after a reset only the
                # newest one is registered, so drop the older ones
                callbacks = getattr(smile, "_callbacks", None)
                if isinstance(callbacks, list) and len(callbacks) > 1:
                    del callbacks[:-1]
                if not smile.external_audio_source_write_data(_SOURCE, signal.tobytes()):
                    raise RuntimeError("openSMILE refused the audio buffer")
                smile.external_audio_source_set_eoi(_SOURCE)
                smile.run()
                smile.reset()
            except BaseException:
                self.close()
                raise
            out, count = self.out, self.count
            self.out = None
        if count != num_frames:
            raise RuntimeError(
                f"openSMILE returned {count} frames for {signal.size} samples, "
                f"expected {num_frames}"
            )
        return out


class CachedRunner:
    """Mixin of the openSMILE feature sets: one runner per process, built lazily, rebuilt when
    the settings (``key``) change or after a fork, and never pickled with the feature set."""

    def _cached_runner(self, key, build):
        cached = self.__dict__.get("_smile_cache")
        if cached is not None:
            cached_key, runner = cached
            if cached_key == key and runner.pid == os.getpid() and runner.smile is not None:
                return runner
        runner = build()
        self.__dict__["_smile_cache"] = (key, runner)
        return runner

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_smile_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclasses.dataclass
class SmileMfcc39(CachedRunner, AudioFeature):
    """39-dim openSMILE MFCC_E_D_A_Z frames of ho2020 Sec. III-A (see the module docstring).

    Columns: log-energy, MFCC 1-12, their 13 deltas, their 13 accelerations; float32
    ``(frames, 39)``; ``frames = expected_frames(len(signal))``.
    """

    name: ClassVar[str] = "mfcc39_smile"
    dim: ClassVar[int] = 39
    rank: ClassVar[str] = "sequence"
    sample_rate: ClassVar[int] = 16000

    frame_size_s: float = 0.100  # ho2020 Sec. III-A: "audio frames of 100 ms"
    frame_step_s: float = 0.050  # "... sampled at a rate of 50 ms"
    num_mel_bands: int = 26  # "12 MFCC (1-12) from 26 Mel-frequency bands"
    cep_lifter: float = 22.0  # "cepstral liftering filter with a weight parameter of 22"
    first_mfcc: int = 1
    last_mfcc: int = 12
    mel_fmin_hz: float = 0.0  # "frequency range of the Mel-spectrum ... from 0 to 8 kHz"
    mel_fmax_hz: float = 8000.0
    mean_norm: bool = True  # "mean normalized with respect to the full input sequence"
    pre_emphasis: float = 0.97  # not in the paper; upstream MFCC12_E_D_A_Z.conf / HTK
    delta_window: int = 2  # not in the paper; upstream / HTK DELTAWINDOW

    def __post_init__(self) -> None:
        size = _samples(self.frame_size_s, self.sample_rate)
        step = _samples(self.frame_step_s, self.sample_rate)
        if size < 1 or step < 1:
            raise ValueError(f"frame size/step must be >= 1 sample, got {size}/{step}")
        n_ceps = self.last_mfcc - self.first_mfcc + 1
        if self.first_mfcc < 0 or n_ceps != 12:
            raise ValueError(
                f"{self.name} has 12 cepstral coefficients (dim 39); got "
                f"first_mfcc={self.first_mfcc}, last_mfcc={self.last_mfcc}"
            )
        if self.num_mel_bands <= self.last_mfcc:
            raise ValueError("num_mel_bands must exceed last_mfcc")
        if not 0.0 <= self.mel_fmin_hz < self.mel_fmax_hz <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= mel_fmin_hz < mel_fmax_hz <= {self.sample_rate / 2}, got "
                f"{self.mel_fmin_hz}, {self.mel_fmax_hz}"
            )
        if self.delta_window < 1:
            raise ValueError("delta_window must be >= 1")

    # --- metadata ---------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def frame_shift_s(self) -> float:
        return self.frame_step_s

    def frame_length_s(self) -> float:
        return self.frame_size_s

    def versions(self) -> dict[str, str]:
        opensmile = import_opensmile()
        return {"opensmile": opensmile.__version__}

    # --- openSMILE --------------------------------------------------------------------------

    def smile_options(self) -> dict[str, Any]:
        """The ``\\cm`` options passed to ``mfcc39_smile.conf`` (plus source/sink includes)."""
        opensmile = import_opensmile()
        from opensmile.core.config import config as smile_config

        root = os.path.join(os.path.dirname(opensmile.__file__), "core", smile_config.CONFIG_ROOT)
        return {
            "source": os.path.join(root, smile_config.EXTERNAL_INPUT_CONFIG),
            "sink": os.path.join(root, smile_config.EXTERNAL_OUTPUT_SINGLE_CONFIG),
            "sinkLevel": LEVEL_MEAN_NORM if self.mean_norm else LEVEL_RAW,
            "blockSize": 1,
            "sampleRate": self.sample_rate,
            "channels": 1,
            "nBits": 33,  # cExternalAudioSource: 32-bit float samples, no int16 quantisation
            # whole samples, so openSMILE's own rounding (to nearest) cannot disagree with
            # expected_frames()
            "frameSize": repr(_samples(self.frame_size_s, self.sample_rate) / self.sample_rate),
            "frameStep": repr(_samples(self.frame_step_s, self.sample_rate) / self.sample_rate),
            "preemphasis": repr(float(self.pre_emphasis)),
            "nBands": int(self.num_mel_bands),
            "lofreq": repr(float(self.mel_fmin_hz)),
            "hifreq": repr(float(self.mel_fmax_hz)),
            "firstMfcc": int(self.first_mfcc),
            "lastMfcc": int(self.last_mfcc),
            "cepLifter": repr(float(self.cep_lifter)),
            "deltaWin": int(self.delta_window),
        }

    def _get_runner(self) -> _Runner:
        options = self.smile_options()
        key = tuple(sorted((k, str(v)) for k, v in options.items()))
        return self._cached_runner(key, lambda: _Runner(options, self.dim))

    def extract(self, signal: np.ndarray) -> np.ndarray:
        x = np.asarray(signal)
        if x.ndim != 1:
            raise ValueError(f"expected a mono 1-D signal, got shape {x.shape}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        require_finite(x, self.name)
        size = _samples(self.frame_size_s, self.sample_rate)
        if x.size < size:  # shorter than one frame: zero-pad to exactly one frame
            x = np.concatenate([x, np.zeros(size - x.size, dtype=np.float32)])
        num_frames = expected_frames(
            x.size, self.sample_rate, self.frame_size_s, self.frame_step_s
        )
        return self._get_runner().run(x, num_frames)
