"""Run the receiver as a real server process on 127.0.0.1 for tests (both sides use it)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningReceiver:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def run_receiver(
    database_url: str,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
    *,
    workers: int = 1,
) -> Iterator[RunningReceiver]:
    """Start `python -m receiver serve` (the production entry point) and wait until it is healthy.

    With `workers` > 1 uvicorn runs several worker processes behind one port.
    """
    port = free_port()
    log_path = workdir / f"receiver-{port}.log"
    full_env = {
        **os.environ,
        "RECEIVER_DATABASE_URL": database_url,
        "RECEIVER_HOST": "127.0.0.1",
        "RECEIVER_PORT": str(port),
        **(env or {}),
    }
    # The server runs in `workdir`; keep coverage data (coverage's subprocess patch) in the project root.
    full_env.setdefault("COVERAGE_FILE", str(ROOT / ".coverage"))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "receiver", "serve", "--workers", str(workers)],
            cwd=workdir,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"receiver exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"receiver did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield RunningReceiver(url=url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
