"""Session-scoped fixture models for the serving tests (built once per worker, ~2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Serving never builds Keras models: skip the suite-wide Keras reset (it costs a
    garbage collection per test with SavedModels loaded)."""
    yield


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    from tests.serving.fixtures import build_models_root

    return build_models_root(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def ner_dir(models_root) -> Path:
    return models_root / "ner"


@pytest.fixture(scope="session")
def sentiment_dir(models_root) -> Path:
    return models_root / "sentiment"


@pytest.fixture(scope="session")
def ner_model(ner_dir):
    from tagger.serving.model import load_model

    return load_model(ner_dir)


@pytest.fixture(scope="session")
def sentiment_model(sentiment_dir):
    from tagger.serving.model import load_model

    return load_model(sentiment_dir)
