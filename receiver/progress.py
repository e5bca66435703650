"""Progress of the command line's long jobs (purge, export) on stderr: one line rewritten in place on a
terminal, a line per tenth of the work otherwise (logs stay short)."""

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, what: str, total: int | None, stream: TextIO | None = None) -> None:
        self.what = what
        self.total = total
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        if self.total:
            tenth = min(done * 10 // self.total, 10)
            if not self.interactive and tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            text = f"{self.what}: {done}/{self.total} ({done * 100 // self.total} %)"
        else:
            text = f"{self.what}: {done}"
        if self.interactive:
            self.stream.write(f"\r{text}")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        end = "\n" if self.interactive else ""
        self.stream.write(f"{end}{self.what}: {done} done in {elapsed:.1f} s\n")
        self.stream.flush()
