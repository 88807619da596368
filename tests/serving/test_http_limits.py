"""The REST server under misbehaving clients: keep-alive, timeouts, lengths, limits, labels."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger.serving.http import ModelServer
from tagger.serving.repository import ModelRepository
from tagger.serving.rest import RequestLimits
from tests.serving.fixtures import running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(models_root):
    with running(ModelServer(ModelRepository(models_root), "127.0.0.1", 0,
                             max_request_bytes=4096, quiet=True, read_timeout=1.0,
                             limits=RequestLimits(max_instances=3,
                                                  max_sentence_tokens=5))) as srv:
        yield srv


def raw_exchange(server, data: bytes, wait: float = 5.0) -> tuple[int, dict, float]:
    """Send bytes on a fresh socket; (status, JSON body, seconds until the answer)."""
    sock = socket.create_connection(server.server_address[:2], timeout=wait)
    started = time.perf_counter()
    sock.sendall(data)
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = json.loads(response.read())
    sock.close()
    return response.status, body, time.perf_counter() - started


def post(body: bytes, headers: str) -> bytes:
    return (f"POST /v1/models/ner:predict HTTP/1.1\r\nHost: x\r\n{headers}\r\n").encode() + body


def test_keep_alive_serves_several_requests_on_one_connection(server):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for i in range(3):
        conn.request("POST", "/v1/models/ner:predict",
                     body=json.dumps({"instances": [f"Then Anna{i} came"]}))
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") != "close"
        assert json.loads(response.read())["predictions"][0]["tokens"][1] == f"Anna{i}"
    conn.close()


def test_short_body_is_answered_within_the_read_timeout(server):
    status, body, seconds = raw_exchange(server, post(b'{"instances"', "Content-Length: 100\r\n"))
    assert status == 408 and "within 1 s" in body["error"]
    assert seconds < 3


def test_half_closed_short_body_is_a_400(server):
    sock = socket.create_connection(server.server_address[:2], timeout=5)
    sock.sendall(post(b'{"instances"', "Content-Length: 100\r\n"))
    sock.shutdown(socket.SHUT_WR)
    response = http.client.HTTPResponse(sock)
    response.begin()
    assert response.status == 400 and "ended after 12 of the 100" in json.loads(
        response.read())["error"]
    sock.close()


@pytest.mark.parametrize("header", ["Content-Length: -5\r\n", "Content-Length: 1e3\r\n",
                                    "Content-Length: 10\r\nContent-Length: 12\r\n"])
def test_bad_content_length_is_a_400(server, header):
    status, body, _ = raw_exchange(server, post(b"{}", header))
    assert status == 400 and "Content-Length" in body["error"]


def test_chunked_bodies_are_read_within_the_size_cap(server):
    payload = json.dumps({"instances": ["Then Anna came"]}).encode()
    chunked = f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    status, body, _ = raw_exchange(server, post(chunked, "Transfer-Encoding: chunked\r\n"))
    assert status == 200 and body["predictions"][0]["tags"][1] == "B-ORG"
    big = (b"1000\r\n" + b"x" * 4096 + b"\r\n") * 2 + b"0\r\n\r\n"
    status, body, _ = raw_exchange(server, post(big, "Transfer-Encoding: chunked\r\n"))
    assert status == 413


def test_instance_and_sentence_limits(server):
    host, port = server.server_address[:2]

    def ask(instances):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("POST", "/v1/models/ner:predict", body=json.dumps({"instances": instances}))
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    assert ask(["a"] * 3)[0] == 200
    status, body = ask(["a"] * 4)
    assert status == 400 and "4 instances, above the limit of 3" in body["error"]
    status, body = ask(["one two three four five six"])
    assert status == 400 and "6 tokens, above the limit of 5" in body["error"]


def test_version_labels(tmp_path):
    from tests.serving.fixtures import running, save_tagger

    save_tagger(tmp_path / "ner" / "1", "PER")
    save_tagger(tmp_path / "ner" / "2", "ORG")
    (tmp_path / "ner" / "version_labels.json").write_text('{"stable": 1}')
    with running(ModelServer(ModelRepository(tmp_path), "127.0.0.1", 0, quiet=True)) as srv:
        host, port = srv.server_address[:2]
        for label, kind in (("stable", "PER"), ("latest", "ORG")):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("POST", f"/v1/models/ner/labels/{label}:predict",
                         body=json.dumps({"instances": ["Then Anna came"]}))
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["predictions"][0]["tags"][1] == f"B-{kind}"
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/v1/models/ner/labels/canary")
        response = conn.getresponse()
        assert response.status == 404 and "label: canary" in json.loads(response.read())["error"]


def test_bad_port_fails_fast_without_loading_the_model(ner_dir):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "serve.py"), str(ner_dir), "--http",
                           "--port", "99999"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--port must be between 0 and 65535" in done.stderr
    assert "Traceback" not in done.stderr and time.perf_counter() - started < 2
