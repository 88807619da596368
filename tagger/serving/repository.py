"""The models a REST server answers for: every version under a folder, and version labels."""

from __future__ import annotations

import json
from pathlib import Path

from tagger.serving.model import ModelError, SavedModel, discover, load_version
from tagger.serving.rest import RestError


class ModelRepository:
    """{name: {version: SavedModel}} for everything under a folder, and version labels."""

    def __init__(self, path: str | Path, max_concurrent_calls: int = 4):
        found = discover(path)
        self.models: dict[str, dict[int, SavedModel]] = {
            name: {version: load_version(folder, name, max_concurrent_calls)
                   for version, folder in versions.items()}
            for name, versions in found.items()}
        self.labels = {name: _read_labels(next(iter(versions.values())).parent)
                       for name, versions in found.items()}

    def get(self, name: str, version: str | None, label: str | None = None) -> SavedModel:
        versions = self.models.get(name)
        if label is not None and versions:
            if label != "latest" and label not in self.labels.get(name, {}):
                raise RestError(404, f"Unrecognized servable version label: {label}")
            version = str(self.labels[name].get(label, max(versions)))
        if version is not None and not version.isdigit():
            raise RestError(404, f"version must be an integer, got {version!r}")
        if not versions or (version is not None and int(version) not in versions):
            spec = f"Specific({name}, {version})" if version else f"Latest({name})"
            raise RestError(404, f"Servable not found for request: {spec}")
        return versions[int(version) if version is not None else max(versions)]

    def describe(self) -> str:
        return ", ".join(f"{name} (versions {', '.join(map(str, sorted(v)))})"
                         for name, v in sorted(self.models.items()))


def _read_labels(model_folder: Path) -> dict[str, int]:
    """``version_labels.json`` of a model folder ({label: version}), or {}."""
    path = model_folder / "version_labels.json"
    if not path.is_file():
        return {}
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in labels.items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise ModelError(f"{path}: expected {{\"label\": version, ...}}: {error}") from None
