"""CPU seconds of process trees and of all processes of one user, read from /proc."""

import os
import pwd
from pathlib import Path

_PROC = Path("/proc")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Fields after the ")" that closes the command name (field 3 of proc(5) is index 0 here).
_PPID = 1
_UTIME = 11
_STIME = 12
_CUTIME = 13
_CSTIME = 14


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except FileNotFoundError, ProcessLookupError, PermissionError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    """utime + stime of the process plus cutime + cstime of its reaped children."""
    ticks = sum(int(fields[i]) for i in (_UTIME, _STIME, _CUTIME, _CSTIME))
    return ticks / _CLOCK_TICKS


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in _PROC.iterdir() if entry.name.isdigit()]


def process_tree_cpu_seconds(root_pids: list[int]) -> float:
    """CPU time of the given processes and all their live descendants (and reaped children)."""
    stats = {pid: fields for pid in _all_pids() if (fields := _stat_fields(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[_PPID]), []).append(pid)
    total = 0.0
    pending = list(root_pids)
    seen: set[int] = set()
    while pending:
        pid = pending.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += _cpu_seconds(stats[pid])
        pending.extend(children.get(pid, []))
    return total


def user_uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def user_cpu_seconds(uid: int) -> float:
    """CPU time of every process owned by `uid` (e.g. all PostgreSQL server processes)."""
    total = 0.0
    for pid in _all_pids():
        try:
            if (_PROC / str(pid)).stat().st_uid != uid:
                continue
        except FileNotFoundError:
            continue
        fields = _stat_fields(pid)
        if fields is not None:
            total += _cpu_seconds(fields)
    return total


def pids_cpu_seconds(pids: list[int]) -> float:
    """CPU time of exactly these processes (those that exited meanwhile count as 0)."""
    return sum(_cpu_seconds(fields) for pid in pids if (fields := _stat_fields(pid)) is not None)


def own_cpu_seconds() -> float:
    """CPU time of this (load generator) process."""
    times = os.times()
    return times.user + times.system
