"""Servers under load for the benchmark: gunicorn masters in their own process groups, with
their workers' peak memory (VmHWM) polled from /proc while the runs go on."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

GUNICORN = Path(sys.executable).with_name("gunicorn")


class Server:
    """A gunicorn master in its own process group, its log in a file, stopped for sure."""

    def __init__(self, name: str, app: str, env: dict, chdir: Path, log: Path, workers: int):
        self.name, self.port, self.log = name, _free_port(), log
        command = [str(GUNICORN), "-w", str(workers), "-k", "sync", "-b",
                   f"127.0.0.1:{self.port}", "--chdir", str(chdir), "--timeout", "30",
                   "--graceful-timeout", "5", "--log-level", "warning", app]
        self.process = subprocess.Popen(command, env=env, stdout=log.open("wb"),  # noqa: S603
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.peak_kb: dict[int, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200 and len(self.workers()) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n"
                           f"{self.log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def sample_memory(self) -> None:
        for pid in self.workers():
            status = read_or_empty(Path(f"/proc/{pid}/status"))
            if found := re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE):
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), int(found[1]))

    def peak_mb(self) -> list[float]:
        return [round(kb / 1024, 1) for kb in sorted(self.peak_kb.values(), reverse=True)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.sample_memory()
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def errors_logged(self) -> int:
        return len(re.findall(r"Traceback|\[ERROR\]", self.log.read_text(errors="replace")))


class MemoryWatch:
    """Polls the workers' VmHWM (peak RSS) every quarter second while the runs go on."""

    def __init__(self, servers: list[Server]):
        self.servers, self.stopping = servers, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self.stopping.wait(0.25):
            for server in self.servers:
                server.sample_memory()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stopping.set()
        self.thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
