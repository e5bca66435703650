"""In-process cost of the receiver's own gunzip + decode + validate of one benchmark payload."""

import gzip
import time
import uuid
from datetime import UTC, datetime

from bench._payloads import payload_json_template

_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def validation_microseconds(samples: int = 5000) -> float:
    """Mean CPU microseconds per payload for `decode_content` + `decode_payload` of the receiver."""
    from receiver.ingest.body import decode_content  # noqa: PLC0415 - only when measuring
    from receiver.ingest.validation import decode_payload  # noqa: PLC0415

    now = datetime.now(UTC)
    template = payload_json_template(now)
    bodies = [
        gzip.compress(template.replace(_PLACEHOLDER, str(uuid.uuid4())).encode(), mtime=0)
        for _ in range(samples)
    ]
    for body in bodies[:100]:
        decode_payload(decode_content(body, "gzip", 65536), now)
    began = time.process_time()
    for body in bodies:
        decode_payload(decode_content(body, "gzip", 65536), now)
    return (time.process_time() - began) / samples * 1e6
