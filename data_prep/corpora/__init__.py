"""Corpus adapters: one module per corpus release, each with ``NAME``, ``validate_source`` and
``scan`` (see ``common``). ``ADAPTERS`` is the one registry the CLI reads."""
from __future__ import annotations

from data_prep.corpora import (asvp_esd, crema_d, emodb, iemocap, meld, mosei, msp_podcast,
                               ravdess, savee, tess, urdu)
from data_prep.corpora.common import ScanResult
from data_prep.errors import SourceError

ADAPTERS = {}
for _module in (iemocap, meld, mosei, msp_podcast, emodb, ravdess, savee, tess, crema_d,
                asvp_esd, urdu):
    if _module.NAME in ADAPTERS:
        raise ValueError(f"corpus adapter {_module.NAME!r} registered twice")
    ADAPTERS[_module.NAME] = _module

__all__ = ["ADAPTERS", "ScanResult", "SourceError"]
