"""Corpus adapters: one module per corpus release, each with ``NAME``, ``scan`` and
``validate_source``. ``ADAPTERS`` is the one registry the CLI reads."""
from __future__ import annotations

from data_prep.corpora import iemocap
from data_prep.corpora.iemocap import ScanResult
from data_prep.errors import SourceError

ADAPTERS = {iemocap.NAME: iemocap}

__all__ = ["ADAPTERS", "ScanResult", "SourceError"]
