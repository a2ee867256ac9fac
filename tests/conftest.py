"""Shared test setup: quiet TensorFlow; test helpers (tiny_bert) importable; the fixtures
several modules share (a tiny random BERT checkpoint, a miniature IEMOCAP release)."""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A tiny random BERT checkpoint saved to a temp dir (one per test module)."""
    from tiny_bert import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A miniature IEMOCAP release tree with its quirks (``mini_iemocap.build_release``)."""
    from mini_iemocap import build_release

    return build_release(tmp_path_factory.mktemp("src"))
