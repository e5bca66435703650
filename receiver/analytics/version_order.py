"""Semantic ordering of version strings: `0.10.0` > `0.9.1`, and a pre-release is lower than its release
(`2.0.0b1` < `2.0.0-rc.1` < `2.0.0`). Strings that do not start with a number sort lowest."""

import re
from collections.abc import Iterable

_VERSION = re.compile(r"\A[vV]?(?P<numbers>[0-9]+(?:\.[0-9]+)*)(?P<rest>.*)\Z")
_IDENTIFIER = re.compile(r"[0-9]+|[A-Za-z]+")
_RELEASE_PARTS = 4

type Identifier = tuple[int, int, str]
type VersionKey = tuple[int, tuple[int, ...], int, tuple[Identifier, ...], str]


def _identifier(text: str) -> Identifier:
    # numeric identifiers sort below alphanumeric ones, as in semver
    return (0, int(text), "") if text.isdigit() else (1, 0, text.lower())


def version_key(version: str) -> VersionKey:
    match = _VERSION.match(version.strip())
    if match is None:
        return (0, (), 0, (), version)
    numbers = tuple(int(part) for part in match["numbers"].split("."))
    numbers = numbers + (0,) * (_RELEASE_PARTS - len(numbers))
    rest = match["rest"]
    # build metadata (`+local`) does not change the order
    pre_release = rest.split("+", 1)[0]
    identifiers = tuple(_identifier(part) for part in _IDENTIFIER.findall(pre_release))
    is_release = 0 if identifiers else 1
    return (1, numbers, is_release, identifiers, version)


def newest(versions: Iterable[str]) -> str | None:
    return max(versions, key=version_key, default=None)


def newest_first(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=version_key, reverse=True)
