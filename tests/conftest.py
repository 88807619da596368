"""Shared pytest fixtures.

Real benchmark data lives beside the project in ``../shared/data`` (or wherever
``TAGGER_DATA_DIR`` points); tests that need it skip with a reason when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real-data folder, or None when this checkout has none beside it."""
    candidate = Path(os.environ.get("TAGGER_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Path of ``../shared/data``; skips the test when it is absent."""
    found = shared_data_dir()
    if found is None:
        pytest.skip("real data not found: put it in ../shared/data or set TAGGER_DATA_DIR")
    return found


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with default dtype policy and a fresh name scope."""
    import keras

    yield
    keras.mixed_precision.set_dtype_policy("float32")
    keras.backend.clear_session()
