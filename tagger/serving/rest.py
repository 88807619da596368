"""TensorFlow Serving's REST JSON mapping, as plain functions (no sockets here).

Follows https://www.tensorflow.org/tfx/serving/api_rest:

- predict requests carry ``instances`` (row format: one item per example; a
  bare value when the signature has one input, else an object per example)
  or ``inputs`` (columnar: a bare value or an object of named tensors), never
  both. Row requests answer ``{"predictions": [...]}`` (one object per example,
  or bare values when the signature has one output); columnar requests answer
  ``{"outputs": ...}`` (an object of named tensors, or a bare tensor).
- strings are JSON strings; ``{"b64": "..."}`` is binary input, and outputs
  whose name ends in ``_bytes`` are answered that way.
- status (``GetModelStatusResponse``) and metadata (``GetModelMetadataResponse``)
  are shaped as TensorFlow Serving prints those protos.

One leniency: rows of a rank-2 string input may differ in length; they are
padded with "" (the padding token of the export contract).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np

from tagger.serving.model import DEFAULT_SIGNATURE, SavedModel


class RestError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _bad(message: str) -> RestError:
    return RestError(400, message)


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _string_leaf(value, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace")
    if _is_b64(value) and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"{where}: invalid base64 in {{'b64': ...}}") from None
    raise _bad(f"{where}: expected a string, got {type(value).__name__} {str(value)[:40]}")


def _string_tensor(value, rank: int | None, where: str) -> np.ndarray:
    """Nested JSON lists of strings -> object array of bytes (ragged rank-2 rows padded)."""
    if rank == 0:
        return np.array(_string_leaf(value, where), dtype=object)
    if rank == 1:
        if not isinstance(value, list):
            raise _bad(f"{where}: expected a list of strings (shape [batch])")
        return np.array([_string_leaf(v, where) for v in value] + [None], dtype=object)[:-1]
    if rank == 2:
        if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
            raise _bad(f"{where}: expected a list of lists of strings (shape [batch, length])")
        width = max((len(row) for row in value), default=0)
        out = np.full((len(value), width), b"", dtype=object)
        for i, row in enumerate(value):
            for j, leaf in enumerate(row):
                out[i, j] = _string_leaf(leaf, where)
        return out
    try:
        array = np.array(value, dtype=object)
    except ValueError:
        raise _bad(f"{where}: not a rectangular nested list") from None
    if rank is not None and array.ndim != rank:
        raise _bad(f"{where}: expected rank {rank}, got {array.ndim}")
    return np.vectorize(lambda v: _string_leaf(v, where), otypes=[object])(array)


def to_tensor(value, spec, where: str) -> np.ndarray:
    """A JSON value -> array for a ``tf.TensorSpec``; 400 on a wrong type or rank."""
    rank = spec.shape.rank
    if spec.dtype.name == "string":
        return _string_tensor(value, rank, where)
    try:
        array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    except (TypeError, ValueError):
        raise _bad(f"{where}: expected {spec.dtype.name} values") from None
    if rank is not None and array.ndim != rank:
        raise _bad(f"{where}: expected rank {rank}, got {array.ndim}")
    return array


@dataclass(frozen=True)
class RequestLimits:
    """Per-request caps; a request above one is answered 400 before the model runs."""

    max_instances: int = 1024  # examples (rows) per request
    max_sentence_tokens: int = 4096  # whitespace tokens of one sentence, or one token row

    def check(self, tensors: dict) -> None:
        for key, array in tensors.items():
            if array.ndim == 0:
                continue
            if len(array) > self.max_instances:
                raise _bad(f"input {key!r}: {len(array)} instances, above the limit of "
                           f"{self.max_instances} per request (--max-instances)")
            if array.dtype != object:
                continue
            if array.ndim == 1:
                longest = max((len(v.split()) for v in array), default=0)
            else:
                longest = int((array.reshape(len(array), -1) != b"").sum(axis=1).max(initial=0))
            if longest > self.max_sentence_tokens:
                raise _bad(f"input {key!r}: a sentence of {longest} tokens, above the limit of "
                           f"{self.max_sentence_tokens} (--max-sentence-tokens)")


def parse_predict(model: SavedModel, body, limits: RequestLimits | None = None
                  ) -> tuple[str, dict, bool]:
    """Request JSON -> (signature name, {input key: array}, row format?)."""
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    signature = body.get("signature_name") or DEFAULT_SIGNATURE
    if not isinstance(signature, str) or signature not in model.signatures:
        raise _bad(f"Serving signature name: {signature!r} not found in signature def "
                   f"(available: {', '.join(sorted(model.signatures))})")
    if ("instances" in body) == ("inputs" in body):
        raise _bad("request must have exactly one of 'instances' (row format) or 'inputs' "
                   "(columnar format)")
    specs = model.input_specs(signature)
    keys = sorted(specs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise _bad("'instances' must be a list (one item per example)")
        objects = [isinstance(i, dict) and not _is_b64(i) for i in instances]
        if len(keys) == 1 and not any(objects):
            columns = {keys[0]: instances}
        elif instances and all(objects):
            for index, instance in enumerate(instances):
                if set(instance) != set(keys):
                    raise _bad(f"instance {index} has keys {sorted(instance)}, "
                               f"signature {signature!r} expects {keys}")
            columns = {key: [instance[key] for instance in instances] for key in keys}
        else:
            raise _bad(f"'instances' must be a list of objects with keys {keys}"
                       + (" or a list of values" if len(keys) == 1 else ""))
        row = True
    else:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and not _is_b64(inputs):
            if set(inputs) != set(keys):
                raise _bad(f"'inputs' has keys {sorted(inputs)}, signature {signature!r} "
                           f"expects {keys}")
            columns = inputs
        elif len(keys) == 1:
            columns = {keys[0]: inputs}
        else:
            raise _bad(f"'inputs' must be an object with keys {keys}")
        row = False
    tensors = {key: to_tensor(columns[key], specs[key], f"input {key!r}") for key in keys}
    (limits or RequestLimits()).check(tensors)
    if row and len(keys) > 1:
        sizes = {len(t) if t.ndim else 1 for t in tensors.values()}
        if len(sizes) > 1:
            raise _bad("row format needs the same batch size for every input")
    return signature, tensors, row


def _jsonable(key: str, array: np.ndarray):
    array = np.asarray(array)
    if array.dtype == np.float32:  # shortest float32 digits: 0.9, not 0.8999999761581421
        return array.astype(str).astype(np.float64).tolist()
    values = array.tolist()
    if array.dtype != object:
        return values
    if key.endswith("_bytes"):
        def leaf(v):
            return {"b64": base64.b64encode(v).decode("ascii")}
    else:
        def leaf(v):
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else v

    def walk(v):
        return [walk(x) for x in v] if isinstance(v, list) else leaf(v)

    return walk(values)


def format_predict(outputs: dict, row: bool) -> dict:
    """Model outputs -> ``{"predictions": ...}`` (row) or ``{"outputs": ...}`` (columnar)."""
    converted = {key: _jsonable(key, value) for key, value in outputs.items()}
    if not row:
        if len(converted) == 1:
            return {"outputs": next(iter(converted.values()))}
        return {"outputs": converted}
    if len(converted) == 1:
        return {"predictions": next(iter(converted.values()))}
    sizes = {len(v) if isinstance(v, list) else -1 for v in converted.values()}
    if len(sizes) != 1 or -1 in sizes:
        raise RestError(400, "row format needs outputs with the same batch size; "
                             "use the columnar format ('inputs')")
    (size,) = sizes
    return {"predictions": [{key: value[i] for key, value in converted.items()}
                            for i in range(size)]}


def status_response(versions: list[int]) -> dict:
    """``GetModelStatusResponse`` as JSON (newest version first)."""
    return {"model_version_status": [
        {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK",
                                                             "error_message": ""}}
        for v in sorted(versions, reverse=True)]}


def signature_defs(model: SavedModel) -> dict:
    """The SignatureDef map of a SavedModel as TensorFlow Serving prints it."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((model.path / "saved_model.pb").read_bytes())
    graph = next((g for g in proto.meta_graphs if "serve" in g.meta_info_def.tags),
                 proto.meta_graphs[0])
    return {name: json_format.MessageToDict(
        sig, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        for name, sig in graph.signature_def.items()}


def metadata_response(model: SavedModel) -> dict:
    """``GetModelMetadataResponse`` as JSON."""
    return {
        "model_spec": {"name": model.name, "signature_name": "", "version": str(model.version)},
        "metadata": {"signature_def": {"signature_def": signature_defs(model)}},
    }
