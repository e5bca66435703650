"""`submissions` partitioned by month of week_start (PostgreSQL, migration 0009; SQLite keeps the plain
table and must give the same answers): the migration keeps rows and ids, a starting receiver creates
the coming months' partitions, ingest lands in its month's partition or the default one (split out
later with its ids), a re-sent period replaces its row, GDPR erasure reaches every partition, and
purge drops expired months whole — deleting row by row only in the boundary month — and leaves every
analytics answer equal to the brute-force reference."""

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from litestar.testing import TestClient

from receiver.app import create_app
from receiver.db.engine import create_engine
from receiver.db.partitions import MonthPartition, ensure_coming_partitions, month_of, next_month
from receiver.db.schema_version import alembic_config
from receiver.db.transactions import Database
from receiver.retention import purge
from tests.receiver.analytics_reference import Reference, parse
from tests.receiver.analytics_world import (
    ENV,
    INTEGRATION_VERSIONS,
    WEEK,
    Installation,
    World,
    generate,
    new_installation,
    payload_11,
    secret_of,
    this_monday,
)
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, query, settings_for
from tests.receiver.test_analytics import ENDPOINTS, iso
from tests.receiver.test_reliability import _nested_equal

TODAY = datetime.now(UTC).date()
PREVIOUS_MONTH = month_of(month_of(TODAY) - timedelta(days=1))
# the first Monday of the previous month, and the week before it (in the month before that)
FIRST_MONDAY = PREVIOUS_MONTH + timedelta(days=(7 - PREVIOUS_MONTH.weekday()) % 7)
BEFORE_BOUNDARY = FIRST_MONDAY - WEEK
NO_PARTITION = this_monday() - 120 * WEEK  # about two years ago: no partition of its own


@dataclass
class Receiver:
    client: TestClient[Any] | None
    database_url: str

    def send(self, who: Installation, monday: date, version: int | None = None) -> dict[str, Any]:
        if version is not None:
            who.version = version
        payload = payload_11(random.Random(monday.toordinal()), who, monday)
        response = self.http.post(
            "/submit",
            json=payload,
            headers={
                "X-API-Key": SUBMIT_KEY,
                "X-Installation-Secret": secret_of(who.installation_id),
            },
        )
        assert response.status_code == 200, response.text
        return payload

    def get(self, path: str, **params: str) -> Any:
        response = self.http.get(path, headers={"X-API-Key": ADMIN_KEY}, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return asyncio.run(query(self.database_url, sql, **params))

    @property
    def http(self) -> TestClient[Any]:
        assert self.client is not None, "a receiver over the database only"
        return self.client

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def installation(seed: int) -> Installation:
    """A schema 1.1 installation (with a per-model breakdown)."""
    rng = random.Random(seed)
    who = new_installation(rng, 10)
    while who.legacy:
        who = new_installation(rng, 10)
    return who


def run(coroutine_function: Any, database_url: str, *args: Any, **kwargs: Any) -> Any:
    """`coroutine_function(database, ...)` on its own engine."""

    async def main() -> Any:
        engine = create_engine(database_url, pool_size=2)
        try:
            return await coroutine_function(Database(engine), *args, **kwargs)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def receiver_on(database_url: str) -> Iterator[Receiver]:
    with TestClient(create_app(settings_for(database_url, **ENV))) as client:
        yield Receiver(client, database_url)


@pytest.fixture
def receiver(database_url: str) -> Iterator[Receiver]:
    yield from receiver_on(database_url)


@pytest.fixture
def pg_receiver(postgres_url: str) -> Iterator[Receiver]:
    yield from receiver_on(postgres_url)


PARTITIONS_SQL = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'submissions'::regclass ORDER BY 1"
)


def partitions(receiver: Receiver) -> list[str]:
    return [row[0] for row in receiver.rows(PARTITIONS_SQL)]


def placement(receiver: Receiver) -> dict[date, tuple[str, int]]:
    """week_start → (partition, id) of every stored submission."""
    rows = receiver.rows("SELECT week_start, tableoid::regclass::text, id FROM submissions")
    return {row[0]: (row[1], row[2]) for row in rows}


def name_of(month: date) -> str:
    return f"submissions_{month:%Y_%m}"


# -- the migration -------------------------------------------------------------------------------


def _upgrade(database_url: str, revision: str) -> None:
    command.upgrade(alembic_config(database_url), revision)


def _downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


TABLE_KIND = "SELECT relkind::text FROM pg_class WHERE relname = 'submissions'"
INSERT_PLAIN_ROW = (
    "INSERT INTO submissions (installation_id, period_start, period_end, received_at, "
    "schema_version, country_code, deployment_mode, printer_count, job_count, aggregate, week_start) "
    "VALUES (:who, :start, :end, now(), '1.1', 'DE', 'haos', 1, 1, '{}', :week) RETURNING id"
)


@pytest.mark.postgres
def test_the_migration_partitions_a_database_holding_data(postgres_url: str) -> None:
    _upgrade(postgres_url, "0008")
    weeks = [NO_PARTITION, BEFORE_BOUNDARY, FIRST_MONDAY, this_monday() - WEEK]
    stored = {}
    for number, monday in enumerate(weeks):
        start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
        (row,) = asyncio.run(
            query(
                postgres_url,
                INSERT_PLAIN_ROW,
                who=f"inst-{number}",
                start=start,
                end=start + WEEK,
                week=monday,
            )
        )
        stored[monday] = row[0]
    _upgrade(postgres_url, "head")

    receiver = Receiver(None, postgres_url)  # the database only
    assert {week: where[1] for week, where in placement(receiver).items()} == stored
    for week, (partition, _) in placement(receiver).items():
        assert partition == name_of(month_of(week))  # every stored month got its partition
    assert receiver.rows(TABLE_KIND) == [("p",)]  # partitioned
    assert receiver.rows(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'submissions'::regclass ORDER BY conname"
    ) == [
        ("PRIMARY KEY (id, week_start)",),
        ("UNIQUE (installation_id, period_start, period_end, week_start)",),
    ]
    indexes = receiver.rows(
        "SELECT c.relname, c.relkind::text FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE x.indrelid = 'submissions'::regclass ORDER BY 1"
    )
    assert indexes == [
        ("ix_submissions_period_end", "I"),
        ("ix_submissions_received_at_id", "I"),
        ("ix_submissions_week_start_installation", "I"),
        ("pk_submissions", "I"),
        ("uq_submissions_period", "I"),
    ]
    names = partitions(receiver)
    assert "submissions_default" in names
    assert name_of(next_month(next_month(next_month(month_of(TODAY))))) in names
    # the id sequence goes on where it was
    (row,) = receiver.rows(
        INSERT_PLAIN_ROW,
        who="after",
        start=datetime.combine(this_monday(), datetime.min.time(), tzinfo=UTC),
        end=datetime.combine(this_monday() + WEEK, datetime.min.time(), tzinfo=UTC),
        week=this_monday(),
    )
    assert row[0] == max(stored.values()) + 1

    _downgrade(postgres_url, "0008")
    assert receiver.rows(TABLE_KIND) == [("r",)]  # a plain table again
    assert {row[0] for row in receiver.rows("SELECT id FROM submissions")} == {
        *stored.values(),
        row[0],
    }
    assert receiver.rows("SELECT count(*) FROM pg_class WHERE relname LIKE 'submissions_2%'") == [
        (0,)
    ]


# -- ingest ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_starting_receiver_creates_the_partitions_of_the_coming_months(
    postgres_url: str,
) -> None:
    coming = name_of(next_month(next_month(next_month(month_of(TODAY)))))
    with TestClient(create_app(settings_for(postgres_url, **ENV))):
        pass  # migrated, partitions created
    asyncio.run(query(postgres_url, f"DROP TABLE {coming}"))
    database = Receiver(None, postgres_url)
    assert coming not in partitions(database)
    with TestClient(create_app(settings_for(postgres_url, **ENV))):
        assert coming in partitions(database)


@pytest.mark.postgres
def test_ingest_lands_in_its_month_or_the_default_partition_which_is_split_out_later(
    pg_receiver: Receiver,
) -> None:
    run(ensure_coming_partitions, pg_receiver.database_url, [BEFORE_BOUNDARY, FIRST_MONDAY])
    who = installation(1)
    for monday in (BEFORE_BOUNDARY, FIRST_MONDAY, NO_PARTITION):
        pg_receiver.send(who, monday)
    where = placement(pg_receiver)
    assert where[BEFORE_BOUNDARY][0] == name_of(month_of(BEFORE_BOUNDARY))
    assert where[FIRST_MONDAY][0] == name_of(PREVIOUS_MONTH)
    assert where[NO_PARTITION][0] == "submissions_default"

    created = run(ensure_coming_partitions, pg_receiver.database_url)
    assert created == [name_of(month_of(NO_PARTITION))]
    assert placement(pg_receiver) == {**where, NO_PARTITION: (created[0], where[NO_PARTITION][1])}
    assert pg_receiver.rows("SELECT count(*) FROM submissions_default") == [(0,)]
    assert run(ensure_coming_partitions, pg_receiver.database_url) == []


def test_a_re_sent_period_replaces_its_row_in_any_partition(receiver: Receiver) -> None:
    run(ensure_coming_partitions, receiver.database_url, [FIRST_MONDAY])
    who = installation(2)
    weeks = (FIRST_MONDAY, NO_PARTITION)
    for monday in weeks:
        receiver.send(who, monday, version=0)
    first = receiver.rows("SELECT week_start, id FROM submissions ORDER BY week_start")
    for monday in weeks:
        receiver.send(who, monday, version=3)
    again = receiver.rows("SELECT week_start, id FROM submissions ORDER BY week_start")
    assert again == first  # one row per period, ids kept
    stored_versions = {
        (row[0] if isinstance(row[0], dict) else json.loads(row[0]))["installation"]["app_version"]
        for row in receiver.rows("SELECT aggregate FROM submissions")
    }
    assert stored_versions == {INTEGRATION_VERSIONS[3]}
    if receiver.is_postgres:
        assert placement(receiver)[NO_PARTITION][0] == "submissions_default"


def test_erasing_an_installation_reaches_every_partition(receiver: Receiver) -> None:
    run(ensure_coming_partitions, receiver.database_url, [BEFORE_BOUNDARY, FIRST_MONDAY])
    erased, kept = installation(3), installation(4)
    for who in (erased, kept):
        for monday in (NO_PARTITION, BEFORE_BOUNDARY, FIRST_MONDAY, this_monday() - WEEK):
            receiver.send(who, monday)
    response = receiver.http.delete(
        f"/installation/{erased.installation_id}", headers={"X-API-Key": ADMIN_KEY}
    )
    assert response.status_code == 200, response.text
    assert receiver.rows("SELECT DISTINCT installation_id FROM submissions") == [
        (kept.installation_id,)
    ]
    assert receiver.rows("SELECT count(*) FROM submissions") == [(4,)]
    assert receiver.rows(
        "SELECT count(*) FROM submission_models WHERE submission_id NOT IN "
        "(SELECT id FROM submissions)"
    ) == [(0,)]


# -- purge ----------------------------------------------------------------------------------------


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def mondays_of(month: date) -> list[date]:
    return MonthPartition(name_of(month), month, next_month(month)).mondays()


# A month about seven months ago that does not start on a Monday: the last week of the month before
# it ends inside it.
BOUNDARY = next(
    month
    for month in (month_of(TODAY - timedelta(days=200)), month_of(TODAY - timedelta(days=170)))
    if month.weekday() != 0
)
EARLIER = month_of(BOUNDARY - timedelta(days=1))
EARLIEST = month_of(EARLIER - timedelta(days=1))
LATER = next_month(BOUNDARY)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("cutoff", "dropped", "boundary"),
    [
        # mid-month: the months before are dropped whole, the rest of the month deleted row by row
        (midnight(BOUNDARY.replace(day=15)), [EARLIEST, EARLIER], BOUNDARY),
        # on the 1st: the month before still holds its last week (it ends after the cutoff)
        (midnight(BOUNDARY), [EARLIEST], EARLIER),
    ],
    ids=["mid-month", "first-of-month"],
)
def test_purge_drops_expired_months_and_deletes_the_boundary_month_row_by_row(
    pg_receiver: Receiver, cutoff: datetime, dropped: list[date], boundary: date
) -> None:
    months = [EARLIEST, EARLIER, BOUNDARY, LATER]
    mondays = [monday for month in months for monday in mondays_of(month)]
    run(ensure_coming_partitions, pg_receiver.database_url, months)
    who = installation(5)
    for monday in mondays:
        pg_receiver.send(who, monday)
    pg_receiver.get("/stats/installations")  # the rollups hold every week now
    before = placement(pg_receiver)
    assert {name for name, _ in before.values()} == {name_of(month) for month in months}

    result = run(purge, pg_receiver.database_url, 0, now=cutoff)

    assert result.partitions_dropped == tuple(name_of(month) for month in dropped)
    names = partitions(pg_receiver)
    for month in dropped:
        assert name_of(month) not in names
        assert pg_receiver.rows(
            "SELECT count(*) FROM pg_class WHERE relname = :name", name=name_of(month)
        ) == [(0,)]
    kept = {week: where for week, where in before.items() if midnight(week) + WEEK >= cutoff}
    assert placement(pg_receiver) == kept
    assert name_of(boundary) in names
    deleted_one_by_one = [
        week for week, (name, _) in before.items() if name == name_of(boundary) and week not in kept
    ]
    assert deleted_one_by_one
    assert any(where[0] == name_of(boundary) for where in kept.values())
    assert result.submissions == len(before) - len(kept)
    assert pg_receiver.rows(
        "SELECT count(*) FROM submission_models WHERE submission_id NOT IN "
        "(SELECT id FROM submissions)"
    ) == [(0,)]
    assert pg_receiver.rows(
        "SELECT count(*) FROM installation_weeks WHERE week < :week", week=min(kept)
    ) == [(0,)]


def _sent_until(world: World, cutoff: datetime) -> World:
    """The world as purge leaves it: the submissions whose period ended before the cutoff are gone."""
    kept = [
        (who, payload) for who, payload in world.sent if parse(payload["period"]["end"]) >= cutoff
    ]
    return World(kept, set())


def test_analytics_after_a_purge_equal_the_brute_force_reference(receiver: Receiver) -> None:
    world = generate(20261127, installations=24, weeks=30)
    world.deleted = set()
    for installation_id, payload in world.sent:
        headers = {"X-API-Key": SUBMIT_KEY}
        if payload["schema_version"] != "1.0":
            headers["X-Installation-Secret"] = secret_of(installation_id)
        response = receiver.http.post("/submit", json=payload, headers=headers)
        assert response.status_code == 200, response.text
    last_week = this_monday() - WEEK
    receiver.get("/stats/installations")  # rollups and summaries of every week
    cutoff = midnight(month_of(last_week - 12 * WEEK).replace(day=15))
    result = run(purge, receiver.database_url, 0, now=cutoff)
    if receiver.is_postgres:
        assert result.partitions_dropped  # split out of the default partition, then dropped
        assert receiver.rows("SELECT count(*) FROM submissions_default") == [(0,)]
    reference = Reference(_sent_until(world, cutoff), datetime.now(UTC))
    assert result.submissions == len(world.stored()) - len(reference.reports)
    for weeks in (4, 12, 30):
        for path, name in ENDPOINTS.items():
            got = receiver.get(f"/stats/{path}", until_week=iso(last_week), weeks=str(weeks))
            want = getattr(reference, name)(last_week, weeks)
            assert _nested_equal(got, want), (path, weeks)
