"""Find, load and call exported SavedModels (TensorFlow only, no ``tagger`` model code).

Layout (TensorFlow Serving's): ``<root>/<name>/<integer version>/saved_model.pb``.
A model is a tagger when its ``serving_default`` signature has a ``tags``
output, otherwise a classifier. Example::

    model = load_model("models/ner_conll2003")   # highest version
    out = model.predict(["Mr. Smith went to Paris."])  # dict of NumPy arrays
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath, PurePosixPath

DEFAULT_SIGNATURE = "serving_default"


class ModelError(Exception):
    """A model folder that is missing, empty or not a loadable SavedModel."""


def _versions(folder: Path) -> dict[int, Path]:
    """Integer-named subfolders that hold a ``saved_model.pb``."""
    found = {}
    if folder.is_dir():
        for child in folder.iterdir():
            if child.name.isdigit() and (child / "saved_model.pb").is_file():
                found[int(child.name)] = child
    return found


def _version_of(folder: PurePath) -> tuple[str, int]:
    """(model name, version) of a version folder ``<name>/<version>``."""
    if folder.name.isdigit():
        return folder.parent.name or "model", int(folder.name)
    return folder.name or "model", 1


def is_url(path: str | Path) -> bool:
    """A path on a filesystem TensorFlow reads through a scheme (``gs://``, ``s3://``, ...)."""
    return "://" in str(path)


def _resolve_url(url: str) -> str:
    """``resolve_version_dir`` for a URL, through ``tf.io.gfile``."""
    from tensorflow.io import gfile

    url = url.rstrip("/")
    try:
        if gfile.exists(f"{url}/saved_model.pb"):
            return url
        if not gfile.isdir(url):
            raise ModelError(f"model folder not found: {url}")
        names = [name.rstrip("/") for name in gfile.listdir(url)]
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - an unknown scheme, no access, ...
        raise ModelError(f"cannot read {url}: {str(error).strip().splitlines()[0]}") from None
    versions = [int(n) for n in names if n.isdigit() and gfile.exists(f"{url}/{n}/saved_model.pb")]
    if not versions:
        raise ModelError(f"no SavedModel in {url}: expected {url}/<version>/saved_model.pb "
                         f"or {url}/saved_model.pb")
    return f"{url}/{max(versions)}"


def resolve_version_dir(path: str | Path) -> Path | str:
    """``models/<name>`` -> its highest version folder; a version folder -> itself.

    A URL (``gs://bucket/models/ner``) is resolved through ``tf.io.gfile`` and
    stays a string.
    """
    if is_url(path):
        return _resolve_url(str(path))
    folder = Path(path)
    if not folder.exists():
        raise ModelError(f"model folder not found: {folder}")
    if not folder.is_dir():
        raise ModelError(f"model path is not a folder: {folder}")
    if (folder / "saved_model.pb").is_file():
        return folder
    versions = _versions(folder)
    if not versions:
        names = sorted(c.name for c in folder.iterdir() if _versions(c))
        if names:
            raise ModelError(f"{folder} holds several models ({', '.join(names)}): "
                             f"pass one of them, e.g. {folder / names[0]}")
        raise ModelError(
            f"no SavedModel in {folder}: expected {folder}/<version>/saved_model.pb "
            f"or {folder}/saved_model.pb"
        )
    return versions[max(versions)]


def discover(path: str | Path) -> dict[str, dict[int, Path]]:
    """Models to serve under ``path``: {name: {version: folder}}.

    ``path`` may be a version folder (one model, one version), a model folder
    ``<name>`` (all its versions) or a root holding several ``<name>/<version>``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"model folder not found: {folder}")
    if (folder / "saved_model.pb").is_file():
        name, version = _version_of(folder.resolve())
        return {name: {version: folder}}
    own = _versions(folder)
    if own:
        return {folder.resolve().name: own}
    models = {}
    for child in sorted(folder.iterdir()):
        versions = _versions(child)
        if versions and not child.name.startswith("."):
            models[child.name] = versions
    if not models:
        raise ModelError(f"no SavedModel found in {folder} (expected <name>/<version>/)")
    return models


@dataclass
class SavedModel:
    """A loaded SavedModel version and what its signatures look like."""

    name: str
    version: int
    path: Path | str  # a str for a URL
    loaded: object = field(repr=False)
    config: dict = field(default_factory=dict)
    # At most this many calls run at once (TF calls are thread-safe; the bound keeps
    # memory predictable under load). See tagger.serving.http for measurements.
    max_concurrent_calls: int = 4

    def __post_init__(self):
        self.gate = threading.BoundedSemaphore(self.max_concurrent_calls)
        self._specs: dict[str, dict] = {}  # signature -> input specs (asked on every call)

    # -- signatures -----------------------------------------------------------
    @property
    def signatures(self) -> dict:
        return dict(self.loaded.signatures)

    def input_specs(self, signature: str = DEFAULT_SIGNATURE) -> dict:
        """{input key: tf.TensorSpec} of a signature."""
        if signature not in self._specs:
            specs = self.loaded.signatures[signature].structured_input_signature[1]
            self._specs[signature] = dict(specs)
        return dict(self._specs[signature])

    def output_keys(self, signature: str = DEFAULT_SIGNATURE) -> list[str]:
        return sorted(self.loaded.signatures[signature].structured_outputs)

    @cached_property
    def is_tagger(self) -> bool:
        return "tags" in self.output_keys()

    @property
    def task(self) -> str:
        return str(self.config.get("task") or ("ner" if self.is_tagger else "classify"))

    @property
    def spans(self) -> bool:
        """Whether the tags mark spans (entities, chunks): every task but POS
        (classifiers have no tags; their results ignore it)."""
        return self.task != "pos"

    @property
    def tokens_signature(self) -> str | None:
        """Name of the signature taking pre-tokenized ``[None, None]`` strings, if any."""
        for name in ("tag_tokens", "classify_tokens", *sorted(self.signatures)):
            if name in self.signatures:
                specs = self.input_specs(name)
                if len(specs) == 1 and next(iter(specs.values())).shape.rank == 2:
                    return name
        return None

    # -- calling --------------------------------------------------------------
    def call(self, signature: str, inputs: dict) -> dict:
        """Run one signature on a dict of tensors/arrays; returns {key: np.ndarray}.

        At most ``max_concurrent_calls`` run at once; more wait.
        """
        import tensorflow as tf

        fn = self.loaded.signatures[signature]
        specs = self.input_specs(signature)
        feeds = {key: tf.convert_to_tensor(value, dtype=specs[key].dtype)
                 for key, value in inputs.items()}
        with self.gate:
            outputs = fn(**feeds)
        return {key: value.numpy() for key, value in outputs.items()}

    def predict(self, sentences: list[str]) -> dict:
        """``serving_default`` on raw sentences."""
        (key,) = self.input_specs(DEFAULT_SIGNATURE)
        return self.call(DEFAULT_SIGNATURE, {key: list(sentences)})

    def predict_tokens(self, tokens: list[list[str]], signature: str | None = None) -> dict:
        """The pre-tokenized signature (or ``signature``, e.g. ``tag_marginals``, which also
        takes tokens) on token lists (padded here with "")."""
        signature = signature or self.tokens_signature
        if signature is None:
            raise ModelError(f"{self.path} has no signature for pre-tokenized input")
        width = max((len(row) for row in tokens), default=0)
        padded = [list(row) + [""] * (width - len(row)) for row in tokens]
        (key,) = self.input_specs(signature)
        import numpy as np

        array = np.array(padded, dtype=object).reshape(len(padded), width)
        return self.call(signature, {key: array})


def _read_config(folder: Path | str) -> dict:
    try:
        if is_url(folder):
            from tensorflow.io import gfile

            with gfile.GFile(f"{folder}/assets/config.json", "r") as stream:
                return json.loads(stream.read())
        return json.loads((folder / "assets" / "config.json").read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - no config: a SavedModel from elsewhere
        return {}


def _checked(model: SavedModel) -> SavedModel:
    import tensorflow as tf

    if DEFAULT_SIGNATURE not in model.loaded.signatures:
        raise ModelError(f"SavedModel {model.path} has no {DEFAULT_SIGNATURE!r} signature")
    specs = model.input_specs(DEFAULT_SIGNATURE)
    if len(specs) != 1 or next(iter(specs.values())).dtype != tf.string:
        raise ModelError(f"SavedModel {model.path}: {DEFAULT_SIGNATURE} must take one "
                         "tf.string input")
    return model


def load_version(folder: str | Path, name: str | None = None,
                 max_concurrent_calls: int = 4) -> SavedModel:
    """Load one version folder (a path, or a URL TensorFlow reads); raises ModelError
    with a one-line reason."""
    url = is_url(folder)
    location = str(folder).rstrip("/") if url else Path(folder)
    if not url and not (location / "saved_model.pb").is_file():  # before importing TF
        raise ModelError(f"not a SavedModel folder (no saved_model.pb): {location}")
    import tensorflow as tf

    if url and not tf.io.gfile.exists(f"{location}/saved_model.pb"):
        raise ModelError(f"not a SavedModel folder (no saved_model.pb): {location}")
    try:
        loaded = tf.saved_model.load(str(location))
    except Exception as error:  # noqa: BLE001 - any load failure is a broken model
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"cannot load SavedModel {location}: {reason}") from None
    config = _read_config(location)
    # <name>/<version>: the URL's path, or the resolved local folder
    where = PurePosixPath(location.split("://", 1)[1]) if url else location.resolve()
    default_name, version = _version_of(where)
    if name is None:
        name = default_name if where.name.isdigit() else None
        name = name or str(config.get("name") or default_name)
    return _checked(SavedModel(name, version, location, loaded, config, max_concurrent_calls))


def load_model(path: str | Path) -> SavedModel:
    """``models/<name>`` (highest version) or a version folder -> SavedModel."""
    return load_version(resolve_version_dir(path))
