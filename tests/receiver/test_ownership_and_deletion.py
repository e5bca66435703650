"""Installation ownership (secret, trust on first use), GDPR deletion and admin-only statistics."""

import copy
import secrets
import uuid
from typing import Any

from litestar.testing import TestClient

from receiver.app import create_app
from tests.payloads import load_payloads
from tests.receiver.conftest import (
    ADMIN_KEY,
    SUBMIT_KEY,
    Api,
    assert_error,
    count,
    query,
    settings_for,
)

VALID = load_payloads("valid")


def payload_for(name: str, installation_id: str) -> dict[str, Any]:
    payload = copy.deepcopy(VALID[name])
    payload["installation"]["installation_id"] = installation_id
    return payload


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def test_only_the_secret_hash_is_stored(api: Api, database_url: str) -> None:
    installation_id, secret = str(uuid.uuid4()), new_secret()
    assert (
        api.submit(payload_for("integration-1.1-farm", installation_id), secret=secret).status_code
        == 200
    )
    rows = await query(database_url, "SELECT secret_hash FROM installations")
    assert len(rows[0][0]) == 64
    assert rows[0][0] != secret


async def test_a_secret_protects_an_installation_from_other_submitters(
    api: Api, database_url: str
) -> None:
    installation_id, secret = str(uuid.uuid4()), new_secret()
    original = payload_for("integration-1.1-farm", installation_id)
    assert api.submit(original, secret=secret).status_code == 200
    forged = copy.deepcopy(original)
    forged["usage_stats"]["job_count"] = 0
    assert_error(api.submit(forged), 403, "installation_secret_mismatch")
    assert_error(api.submit(forged, secret=new_secret()), 403, "installation_secret_mismatch")
    assert_error(api.delete(installation_id), 403, "installation_secret_mismatch")
    assert_error(api.delete(installation_id, secret=new_secret()), 403)
    rows = await query(database_url, "SELECT job_count FROM submissions")
    assert rows == [(37,)]
    # refused attempts do not use up the owner's rate limit
    for _ in range(9):
        assert api.submit(original, secret=secret).status_code == 200
    assert api.submit(original, secret=secret).status_code == 429
    response = api.delete(installation_id, secret=secret)
    assert response.status_code == 200
    assert response.json() == {"installation_id": installation_id, "deleted_submissions": 1}
    assert await count(database_url, "installations") == 0
    assert await count(database_url, "rate_limits") == 0


async def test_schema_1_0_client_deletes_with_its_id_alone(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    assert api.submit(payload_for("printernizer-1.0-example", installation_id)).status_code == 200
    response = api.delete(installation_id.upper())
    assert response.status_code == 200
    assert response.json()["deleted_submissions"] == 1
    assert await count(database_url, "submissions") == 0


async def test_deletion_erases_rate_limit_record(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    payload = payload_for("printernizer-1.0-example", installation_id)
    for _ in range(10):
        assert api.submit(payload).status_code == 200
    assert api.submit(payload).status_code == 429
    assert api.delete(installation_id).json()["deleted_submissions"] == 1
    assert await count(database_url, "rate_limits") == 0
    assert api.submit(payload).status_code == 200


async def test_admin_key_deletes_any_installation(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    payload = payload_for("integration-1.1-farm", installation_id)
    assert api.submit(payload, secret=new_secret()).status_code == 200
    response = api.delete(installation_id, key=ADMIN_KEY)
    assert response.json() == {"installation_id": installation_id, "deleted_submissions": 1}
    assert await count(database_url, "submissions") == 0
    assert await count(database_url, "installations") == 0


def test_deleting_an_unknown_installation_deletes_nothing(api: Api) -> None:
    response = api.delete(str(uuid.uuid4()))
    assert response.status_code == 200
    assert response.json()["deleted_submissions"] == 0


def test_deletion_needs_a_key_and_a_uuid(api: Api) -> None:
    assert_error(api.delete("not-a-uuid"), 400, "invalid_installation_id")
    assert_error(api.delete(str(uuid.uuid4()), key="y" * 40), 401, "unknown_api_key")
    response = api.http.delete(f"{api.url}/installation/{uuid.uuid4()}")
    assert_error(response, 401, "missing_api_key")


def test_a_first_secret_may_claim_a_1_0_installation_once(api: Api) -> None:
    installation_id = str(uuid.uuid4())
    assert api.submit(payload_for("printernizer-1.0-example", installation_id)).status_code == 200
    secret = new_secret()
    upgraded = payload_for("integration-1.1-farm", installation_id)
    assert api.submit(upgraded, secret=secret).status_code == 200
    assert_error(api.submit(upgraded, secret=new_secret()), 403)
    assert_error(api.submit(payload_for("printernizer-1.0-example", installation_id)), 403)


def test_statistics_are_for_admin_keys_only(database_url: str) -> None:
    # the summary comes from the rollups: refreshed before every answer here (interval 0)
    app = create_app(settings_for(database_url, RECEIVER_ROLLUP_INTERVAL_SECONDS="0"))
    with TestClient(app, raise_server_exceptions=False) as http:
        check_statistics(Api(None, http))


def check_statistics(api: Api) -> None:
    for name, payload in VALID.items():
        assert api.submit(payload).status_code == 200, name
    assert_error(api.stats(key=None), 401, "missing_api_key")
    assert_error(api.stats(key=SUBMIT_KEY), 403, "forbidden")
    summary = api.stats().json()
    assert summary["installations"] == len(VALID)
    assert summary["submissions"] == len(VALID)
    assert summary["printers"] == 19
    assert summary["installations_by_country"] == {"AT": 1, "DE": 2, "FR": 1, "NL": 1, "XX": 2}
    assert summary["installations_by_schema_version"] == {"1.0": 2, "1.1": 5}
    assert summary["printers_by_type"]["bambu_lab"] == 12
