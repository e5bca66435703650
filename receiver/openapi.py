"""The OpenAPI document's bodies, generated from the same msgspec structs the receiver decodes and
encodes (schema.py, errors.py, the answers below): never written twice.

Litestar builds the document from the route handlers; the handlers of POST /submit and
DELETE /installation/{id} read their bodies and headers themselves (gzip, size caps), so their
request body, headers and every answer are set here through `operation_class`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.spec import Components, Operation, SecurityScheme

from receiver.errors import ErrorAnswer
from receiver.ingest.schema import Payload10, Payload11

REF = "#/components/schemas/{name}"


class StoredAnswer(msgspec.Struct):
    status: str


class DeletionAnswer(msgspec.Struct):
    installation_id: str
    deleted_submissions: int


class LiveAnswer(msgspec.Struct):
    status: str
    version: str


class ReadyAnswer(msgspec.Struct):
    status: str
    database: str
    schema_version: str


_, SCHEMAS = msgspec.json.schema_components(
    (Payload10, Payload11, StoredAnswer, DeletionAnswer, LiveAnswer, ReadyAnswer, ErrorAnswer),
    ref_template=REF,
)
SECURITY_SCHEMES = {
    "submitKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="a submit key (public, embedded in clients)",
    ),
    "adminKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="an admin key (maintainers)",
    ),
}


def raw(value: Any) -> Any:
    """A plain JSON-schema dict where Litestar's spec dataclasses are typed (it serialises both)."""
    return value


def components() -> Components:
    return Components(schemas=raw(SCHEMAS), security_schemes=raw(SECURITY_SCHEMES))


def _ref(struct: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": REF.format(name=struct.__name__)}


def _json(struct: type[msgspec.Struct], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(struct)}}}


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def error_answers(statuses: Mapping[int, str]) -> dict[str, Any]:
    answers = {str(status): _json(ErrorAnswer, text) for status, text in statuses.items()}
    for status in ("429", "503"):
        if status in answers:
            answers[status]["headers"] = RETRY_AFTER
    return answers


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


SECRET_HEADER = _header(
    "X-Installation-Secret",
    "schema 1.1 clients: the installation's secret (32-128 ASCII characters)",
    {"type": "string"},
)
SUBMIT_ERRORS = error_answers(
    {
        400: "malformed JSON or gzip, invalid payload, unsupported schema version, bad secret",
        401: "missing or unknown X-API-Key (schema 1.1 always needs one)",
        403: "an admin key, or the wrong X-Installation-Secret for this installation",
        413: "body larger than the cap (also after gzip decompression)",
        415: "Content-Type is not application/json, or unsupported Content-Encoding",
        429: "rate limited (installation, address, new installations or the hourly quota)",
        500: "internal error (a bug; logged)",
        503: "database unavailable",
    }
)
DELETE_ERRORS = error_answers(
    {
        400: "installation_id is not a UUID, or a malformed secret",
        401: "missing or unknown X-API-Key",
        403: "the wrong X-Installation-Secret for this installation",
        429: "too many requests from this address",
        500: "internal error (a bug; logged)",
        503: "database unavailable",
    }
)


@dataclass
class SubmitOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = raw(
            {
                "required": True,
                "description": "one weekly aggregate, schema 1.0 or 1.1 (docs/payload.md); "
                "optionally gzip-compressed (Content-Encoding: gzip)",
                "content": {
                    "application/json": {"schema": {"anyOf": [_ref(Payload10), _ref(Payload11)]}}
                },
            }
        )
        self.parameters = raw(
            [
                _header(
                    "Content-Encoding",
                    "gzip, or none",
                    {"type": "string", "enum": ["gzip", "identity"]},
                ),
                SECRET_HEADER,
            ]
        )
        self.responses = raw({"200": _json(StoredAnswer, "stored"), **SUBMIT_ERRORS})
        self.security = [{"submitKey": []}]


@dataclass
class DeleteOperation(Operation):
    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), raw(SECRET_HEADER)]
        self.responses = raw({"200": _json(DeletionAnswer, "erased"), **DELETE_ERRORS})
        self.security = [{"submitKey": []}, {"adminKey": []}]


@dataclass
class LiveOperation(Operation):
    def __post_init__(self) -> None:
        self.responses = raw({"200": _json(LiveAnswer, "the process answers")})


@dataclass
class ReadyOperation(Operation):
    def __post_init__(self) -> None:
        self.responses = raw(
            {
                "200": _json(ReadyAnswer, "the database answers; its schema version"),
                **error_answers({503: "database unavailable"}),
            }
        )


@dataclass
class MetricsOperation(Operation):
    def __post_init__(self) -> None:
        self.responses = raw(
            {
                "200": {
                    "description": "Prometheus text exposition",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **error_answers(
                    {
                        401: "missing or unknown X-API-Key",
                        403: "not an admin key",
                        429: "too many requests",
                    }
                ),
            }
        )
        self.security = [{"adminKey": []}]
