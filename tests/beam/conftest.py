"""Beam tests need the optional extra; without it they skip (the missing-extra
message itself is tested in test_cli.py without Beam)."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """The pipeline never builds Keras models: skip the suite-wide Keras reset."""
    yield


@pytest.fixture(scope="session")
def beam():
    return pytest.importorskip("apache_beam", reason="apache-beam (requirements-beam.txt) "
                                                     "is not installed")


@pytest.fixture(scope="session")
def stub_models(tmp_path_factory) -> Path:
    from tests.serving.fixtures import build_models_root

    return build_models_root(tmp_path_factory.mktemp("models"))


def read_shards(prefix: Path | str) -> list[dict]:
    """Every record of ``PREFIX-SSSSS-of-NNNNN.jsonl``, in shard order."""
    records = []
    for path in sorted(glob.glob(f"{prefix}-[0-9]*-of-*.jsonl")):
        with open(path, encoding="utf-8") as stream:
            records += [json.loads(line) for line in stream]
    return records


IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
