"""Shared test setup: quiet TensorFlow; test helpers (tiny_bert) importable."""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
