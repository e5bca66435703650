"""Fixtures shared by the receiver, integration and end-to-end tests."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL_VARIABLE = "PRINTERNIZER_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    """The PostgreSQL server URL for tests (`postgresql+asyncpg://user@host:port/db`), if configured."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on SQLite and on PostgreSQL (skipped when not configured)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'receiver.db'}"
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE} (.ci/run does)")
    from tests.postgres import temporary_database  # noqa: PLC0415

    with temporary_database(base, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url


REQUIRE_POSTGRES_VARIABLE = "PRINTERNIZER_REQUIRE_POSTGRES"
_skipped_postgres_tests: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(REQUIRE_POSTGRES_VARIABLE) == "1" and postgres_base_url() is None:
        raise pytest.UsageError(
            f"{REQUIRE_POSTGRES_VARIABLE}=1 but {POSTGRES_URL_VARIABLE} is unset"
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres_tests.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (PRINTERNIZER_REQUIRE_POSTGRES=1) a skipped PostgreSQL test fails the run."""
    if os.environ.get(REQUIRE_POSTGRES_VARIABLE) == "1" and _skipped_postgres_tests:
        print(
            f"\nERROR: PostgreSQL tests were skipped although CI requires them: {_skipped_postgres_tests}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
