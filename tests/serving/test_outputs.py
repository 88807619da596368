"""Output paths are never clobbered: symlinks, FIFOs, modes, per-input commits, signals."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tagger.serving.cli import main
from tagger.serving.outputs import SafeOutput

ROOT = Path(__file__).resolve().parents[2]


def serve(*args):
    return subprocess.run([sys.executable, str(ROOT / "serve.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_safe_output_keeps_mode_follows_symlinks_and_leaves_no_temp(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    out = SafeOutput(link)
    out.open().write("new\n")
    assert target.read_text() == "old\n"  # nothing visible before commit
    out.commit()
    assert link.is_symlink() and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    aborted = SafeOutput(tmp_path / "never.txt")
    aborted.open().write("half")
    aborted.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


def test_symlink_fifo_and_mode_survive_serve(ner_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Then Anna met Bob.\n")
    real = tmp_path / "real.conll"
    real.write_text("")
    real.chmod(0o640)
    link = tmp_path / "link.conll"
    link.symlink_to(real)
    done = serve(ner_dir, src, "-o", link, "-q")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and "Anna\tB-ORG" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    done = serve(ner_dir, src, "-o", fifo, "-q")
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode) and "Bob\tI-ORG" not in got[0]
    assert "Anna\tB-ORG" in got[0]


def test_options_may_come_anywhere(ner_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("Then Anna met Bob.\n")
    outputs = []
    for argv in (["--output-format", "jsonl", ner_dir, src], [ner_dir, "--output-format",
                                                              "jsonl", src],
                 [ner_dir, src, "--output-format", "jsonl"]):
        assert main([str(a) for a in argv] + ["-q"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2] and json.loads(outputs[0])["tokens"]


def test_sigterm_keeps_finished_outputs_and_removes_the_unfinished(ner_dir, tmp_path):
    first = tmp_path / "first.txt"
    first.write_text("Then Anna met Bob.\n" * 50)
    second = tmp_path / "second.txt"
    os.mkfifo(second)  # blocks the job inside the second input until we write to it
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), str(ner_dir), str(first),
                             str(second), "-o", f"{out}/", "-q"], stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while True:  # the job opens the FIFO once the first input is done
        try:
            fd = os.open(second, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
            time.sleep(0.05)
    os.set_blocking(fd, True)
    writer = os.fdopen(fd, "w")  # kept open: the job waits for more lines
    writer.write("Then Carl came\n")
    writer.flush()
    while not (out / "first.conll").exists() and time.time() < deadline:
        time.sleep(0.1)
    assert (out / "first.conll").exists(), "first output never committed"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    writer.close()
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "first.conll" in err
    assert sorted(p.name for p in out.iterdir()) == ["first.conll"]  # no .part left
    assert (out / "first.conll").read_text().count("Anna\tB-ORG") == 50


@pytest.mark.parametrize("flag", ["--text", "--port"])
def test_bad_arguments_fail_before_the_model_loads(flag, tmp_path, capsys):
    argv = [str(tmp_path / "no-model"), "--http", "--port", "70000"] if flag == "--port" else [
        str(tmp_path / "no-model"), str(tmp_path / "missing.txt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "model folder not found" not in err and ("--port" in err or "not found" in err)


class FullDisk(io.TextIOWrapper):
    """A text stream whose disk fills up after a few kilobytes."""

    def write(self, text):
        if self.buffer.tell() > 4096:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_disk_full_leaves_no_truncated_output(ner_dir, tmp_path, capsys, monkeypatch):
    import tagger.serving.outputs as outputs

    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", **kwargs):
        if "w" not in mode:
            return real_fdopen(fd, mode, **kwargs)
        return FullDisk(real_fdopen(fd, "wb"), encoding="utf-8", newline="\n")

    monkeypatch.setattr(outputs.os, "fdopen", fdopen)
    src = tmp_path / "in.txt"
    src.write_text("Then Anna met Bob in Paris.\n" * 2000)
    target = tmp_path / "out.conll"
    target.write_text("previous content\n")
    code = main([str(ner_dir), str(src), "-o", str(target), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err
    assert target.read_text() == "previous content\n"  # untouched, not truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.conll"]
