"""The REST server: TF Serving request/response shapes, errors, concurrency, SIGTERM."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tagger.serving.http import ModelServer
from tagger.serving.repository import ModelRepository
from tests.serving.fixtures import CLASSES, expected_label, expected_tagger_tags, running

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repository(models_root):
    return ModelRepository(models_root)


@pytest.fixture(scope="module")
def server(repository):
    with running(ModelServer(repository, "127.0.0.1", 0, max_request_bytes=4096,
                             quiet=True)) as srv:
        yield srv


def request(server, method, path, body=None, headers=None, raw: bytes | None = None):
    """(status, parsed JSON, headers) of one request."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers=headers or {})
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    return response.status, payload, dict(response.getheaders())


def test_status_lists_versions_newest_first(server):
    status, body, headers = request(server, "GET", "/v1/models/ner")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"model_version_status": [
        {"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        for v in ("2", "1")]}
    status, body, _ = request(server, "GET", "/v1/models/ner/versions/1")
    assert status == 200 and [s["version"] for s in body["model_version_status"]] == ["1"]


def test_metadata_has_tf_serving_shape(server):
    status, body, _ = request(server, "GET", "/v1/models/ner/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "ner", "signature_name": "", "version": "2"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    sentences = default["inputs"]["sentences"]
    assert sentences["dtype"] == "DT_STRING"
    assert sentences["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}],
                                         "unknown_rank": False}
    assert set(default["outputs"]) == {"tokens", "tags", "scores", "entity_scores", "lengths"}
    assert default["outputs"]["scores"]["dtype"] == "DT_FLOAT"
    assert len(signatures["tag_tokens"]["inputs"]["tokens"]["tensor_shape"]["dim"]) == 2
    status, body, _ = request(server, "GET", "/v1/models/ner/versions/1/metadata")
    assert body["model_spec"]["version"] == "1"


def test_predict_row_format_per_version(server):
    sentences = ["Mr. Smith went to Paris.", "hi"]
    for path, kind in (("/v1/models/ner:predict", "ORG"),
                       ("/v1/models/ner/versions/1:predict", "PER")):
        status, body, _ = request(server, "POST", path, {"instances": sentences})
        assert status == 200 and len(body["predictions"]) == 2
        first = body["predictions"][0]
        # version 2 carries entity confidences, version 1 (an older export) does not
        extra = {"entity_scores"} if kind == "ORG" else set()
        assert set(first) == {"tokens", "tags", "scores", "lengths"} | extra
        n = first["lengths"]
        assert first["tokens"][:n] == ["Mr", ".", "Smith", "went", "to", "Paris", "."]
        assert first["tags"][:n] == expected_tagger_tags(first["tokens"][:n], kind)
        assert first["scores"][2] == 0.9  # float32 printed with its shortest digits
        second = body["predictions"][1]
        assert second["lengths"] == 1 and second["tokens"][1:] == [""] * (n - 1)


def test_predict_row_objects_tokens_signature_and_b64(server):
    status, body, _ = request(server, "POST", "/v1/models/ner:predict", {
        "signature_name": "tag_tokens",
        "instances": [{"tokens": ["New", "York", "City"]},
                      {"tokens": [{"b64": base64.b64encode("Zoë".encode()).decode()}]}]})
    assert status == 200
    rows = body["predictions"]
    assert rows[0]["tags"] == ["O", "B-ORG", "I-ORG"]
    assert rows[1]["tokens"] == ["Zoë", "", ""] and rows[1]["lengths"] == 1  # ragged: padded


def test_predict_columnar_and_single_output(server):
    status, body, _ = request(server, "POST", "/v1/models/sentiment:predict",
                              {"inputs": ["good", "bad film"]})
    assert status == 200
    outputs = body["outputs"]
    assert outputs["label"] == [expected_label("good"), expected_label("bad film")]
    assert outputs["classes"] == [CLASSES, CLASSES] and len(outputs["probabilities"]) == 2
    status, body, _ = request(server, "POST", "/v1/models/sentiment:predict",
                              {"inputs": {"sentences": ["good"]}, "signature_name": "label_only"})
    assert status == 200 and body == {"outputs": [expected_label("good")]}
    status, body, _ = request(server, "POST", "/v1/models/sentiment:predict",
                              {"instances": ["good", "ok"], "signature_name": "label_only"})
    assert body == {"predictions": [expected_label("good"), expected_label("ok")]}


@pytest.mark.parametrize("method, path, body, raw, status", [
    ("POST", "/v1/models/ner:predict", None, b"{not json", 400),
    ("POST", "/v1/models/ner:predict", None, b"\xff\xfe", 400),
    ("POST", "/v1/models/ner:predict", [1, 2], None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": ["a"], "inputs": ["a"]}, None, 400),
    ("POST", "/v1/models/ner:predict", {"nothing": 1}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": [{"text": "a"}]}, None, 400),
    ("POST", "/v1/models/ner:predict", {"inputs": {"tokens": ["a"]}}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": [1, 2]}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": [["a"]]}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": "a"}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": [{"b64": "%%%"}]}, None, 400),
    ("POST", "/v1/models/ner:predict", {"instances": ["a"], "signature_name": "x"}, None, 400),
    ("POST", "/v1/models/nope:predict", {"instances": ["a"]}, None, 404),
    ("POST", "/v1/models/ner/versions/7:predict", {"instances": ["a"]}, None, 404),
    ("POST", "/v1/models/ner/versions/x:predict", {"instances": ["a"]}, None, 404),
    ("POST", "/v1/models/ner:classify", {"instances": ["a"]}, None, 404),
    ("GET", "/v2/other", None, None, 404),
    ("GET", "/v1/models/nope", None, None, 404),
    ("GET", "/v1/models/ner:predict", None, None, 405),
    ("POST", "/v1/models/ner", {"instances": ["a"]}, None, 405),
    ("DELETE", "/v1/models/ner/metadata", None, None, 405),
    ("POST", "/v1/models/ner:predict", {"instances": ["x" * 5000]}, None, 413),
])
def test_errors_are_json_with_status(server, method, path, body, raw, status):
    got, payload, headers = request(server, method, path, body, raw=raw)
    assert got == status and isinstance(payload["error"], str) and payload["error"]
    if status == 405:
        assert headers["Allow"] in ("GET", "POST")


@pytest.mark.parametrize("expect", [False, True])
def test_413_is_answered_before_reading_the_body(server, expect):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/v1/models/ner:predict")
    conn.putheader("Content-Length", str(10**9))  # never sent
    if expect:
        conn.putheader("Expect", "100-continue")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    conn.close()


def test_concurrent_clients_get_their_own_answers(server):
    def client(worker):
        for i in range(20):
            words = [f"Name{worker}x{i}", "met", f"Other{i}", "and", f"w{worker}"]
            status, body, _ = request(server, "POST", "/v1/models/ner:predict",
                                      {"instances": [" ".join(words)] * (1 + i % 3)})
            assert status == 200
            for row in body["predictions"]:
                assert row["tokens"][:row["lengths"]] == words
                assert row["tags"][:5] == ["O", "O", "B-ORG", "O", "O"]
        return worker

    before = server.errors
    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(client, range(8))) == list(range(8))
    assert server.errors == before


def test_sigterm_finishes_the_request_in_flight_and_exits_0(models_root):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(
        [sys.executable, "serve.py", str(models_root / "ner"), "--http", "--port", "0", "-q"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, url = time.monotonic() + 60, None
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if "listening on http://" in line:
                url = line.rsplit("http://", 1)[1].strip()
        assert url, "server did not start"
        host, port = url.split(":")
        body = json.dumps({"instances": ["Hello World"]}).encode()
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.putrequest("POST", "/v1/models/ner:predict")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[:5])  # the request is in flight when SIGTERM arrives
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.send(body[5:])
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["predictions"][0]["tags"][:2] == ["O", "B-ORG"]
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert json.loads(out.strip().splitlines()[-1])["requests"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_http_startup_errors_are_one_line(models_root, tmp_path, capsys):
    from tagger.serving.cli import main

    assert main([str(tmp_path / "none"), "--http", "--port", "0"]) == 2
    assert "model folder not found" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main([str(models_root / "ner"), "--http", "--port", str(port), "-q"]) == 1
    err = capsys.readouterr().err
    assert "serve: error:" in err and "Traceback" not in err
