"""Start the receiver through its production entry point (`python -m receiver serve`)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench._load import Target

ROOT = Path(__file__).resolve().parent.parent
SERVE_COMMAND = [sys.executable, "-m", "receiver", "serve"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_help(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "receiver", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout + completed.stderr


def serve_supports_workers() -> bool:
    return "--workers" in cli_help("serve")


@dataclass(frozen=True)
class RunningServers:
    """One or more server processes (a process may have worker children)."""

    targets: list[Target]
    pids: list[int]
    log_paths: list[Path]
    mode: str

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in self.log_paths:
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


def _wait_healthy(
    process: subprocess.Popen[bytes], port: int, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"http://127.0.0.1:{port}/health"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except urllib.error.URLError, OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"receiver did not become healthy:\n{log_path.read_text()}")
        time.sleep(0.05)


@contextmanager
def _server_process(
    extra_args: list[str], env: Mapping[str, str], workdir: Path, timeout_s: float
) -> Iterator[tuple[int, int, Path]]:
    port = free_port()
    log_path = workdir / f"receiver-{port}.log"
    full_env = {**os.environ, "RECEIVER_HOST": "127.0.0.1", "RECEIVER_PORT": str(port), **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*SERVE_COMMAND, "--host", "127.0.0.1", "--port", str(port), *extra_args],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(process, port, log_path, timeout_s)
        yield process.pid, port, log_path
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (uvicorn workers included), then SIGKILL if needed."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def run_servers(
    workers: int, env: Mapping[str, str], workdir: Path, startup_timeout_s: float = 60.0
) -> Iterator[RunningServers]:
    """`workers` worker processes: one server with `--workers N` if supported, else N servers."""
    with ExitStack() as stack:
        if workers > 1 and serve_supports_workers():
            pid, port, log = stack.enter_context(
                _server_process(["--workers", str(workers)], env, workdir, startup_timeout_s)
            )
            yield RunningServers([("127.0.0.1", port)], [pid], [log], f"--workers {workers}")
            return
        started = [
            stack.enter_context(_server_process([], env, workdir, startup_timeout_s))
            for _ in range(workers)
        ]
        mode = "1 process" if workers == 1 else f"{workers} separate processes"
        yield RunningServers(
            [("127.0.0.1", port) for _, port, _ in started],
            [pid for pid, _, _ in started],
            [log for _, _, log in started],
            mode,
        )
