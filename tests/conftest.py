"""Shared test setup: quiet TensorFlow, and a CPU split into two logical devices so that
MirroredStrategy tests get two replicas on a CPU-only machine."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
