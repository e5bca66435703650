"""A fake PrusaLink printer (Prusa-Firmware-Buddy style): the endpoints Home Assistant's `prusalink`
integration reads (`pyprusalink` 3.0.0), behind HTTP digest auth (user `maker`, the firmware's
without `qop`, as `pyprusalink`'s work-around expects).

- `GET /api/version` (config flow; the version coordinator)
- `GET /api/v1/status` (the status coordinator: `printer.state` is the job-state sensor; `job` while
  there is one)
- `GET /api/v1/job` (the job coordinator; 204 without a job)
- `GET /api/v1/info`, `GET /api/printer` (legacy: `telemetry.material`)

The state is changed by the test between polls: `set_state("PRINTING", progress=…)`.
"""

import hashlib
import time
from typing import Any
from urllib.request import parse_http_list, parse_keqv_list

from aiohttp import web

from .fake_http import FakeHttpDevice, Handler

USERNAME = "maker"
PASSWORD = "fake-prusalink-password"
REALM = "Printer API"
NONCE = "fakenonce0123456789abcdef"

STATES = frozenset(
    {"IDLE", "BUSY", "PRINTING", "PAUSED", "FINISHED", "STOPPED", "ERROR", "ATTENTION", "READY"}
)
# States that end the current job as far as the printer is concerned (it forgets it).
_NO_JOB_STATES = frozenset({"IDLE", "READY"})
_THUMBNAIL = "/thumb/l/usb/BENCHY~1.BGC"
# A 1x1 transparent PNG, for the job-preview camera should anything ask for the thumbnail.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _md5(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()


class FakePrusaLink(FakeHttpDevice):
    """One printer. `set_state` with one of PrusaLink's `printer.state` values."""

    username = USERNAME
    password = PASSWORD

    def __init__(self) -> None:
        super().__init__()
        self.state = "IDLE"
        self.job_id: int | None = None
        self.progress = 0.0
        self._last_job_id = 41
        self._time_printing = 0.0
        self._printing_since: float | None = None

    # --- what the test changes ----------------------------------------------------------------

    def set_state(self, state: str, *, progress: float | None = None, job: bool = False) -> None:
        """Change `printer.state` (the next poll sees it). PRINTING without a job starts one (new
        id, progress and printing time from 0), as does `job=True` (e.g. a print preview, whose
        file is already selected); IDLE and READY forget the job; the other states keep it."""
        if state not in STATES:
            raise ValueError(f"not a PrusaLink printer state: {state}")
        self._settle()
        if state in _NO_JOB_STATES:
            self.job_id = None
        elif self.job_id is None and (state == "PRINTING" or job):
            self._last_job_id += 1
            self.job_id = self._last_job_id
            self.progress = 0.0
            self._time_printing = 0.0
        self.state = state
        if progress is not None:
            self.progress = progress
        self._printing_since = time.time() if state == "PRINTING" else None

    def set_progress(self, progress: float) -> None:
        self.progress = progress

    @property
    def state_label(self) -> str:
        return self.state if self.powered else "powered off"

    @property
    def time_printing(self) -> int:
        """The job's `time_printing` (seconds spent in PRINTING)."""
        self._settle()
        return int(self._time_printing)

    def _settle(self) -> None:
        if self._printing_since is not None:
            now = time.time()
            self._time_printing += now - self._printing_since
            self._printing_since = now

    # --- HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/version", self._auth(self._version)),
            web.get("/api/v1/info", self._auth(self._info)),
            web.get("/api/v1/status", self._auth(self._status)),
            web.get("/api/v1/job", self._auth(self._job)),
            web.get("/api/printer", self._auth(self._legacy_printer)),
            web.get(_THUMBNAIL, self._auth(self._thumbnail)),
        ]

    def _auth(self, handler: Handler) -> Handler:
        async def digest_protected(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                return web.Response(
                    status=401,
                    text="Unauthorized",
                    headers={
                        "WWW-Authenticate": f'Digest realm="{REALM}", nonce="{NONCE}", stale=false'
                    },
                )
            return await handler(request)

        return digest_protected

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "digest":
            return False
        fields = parse_keqv_list(parse_http_list(params))
        uri = fields.get("uri", "")
        if (
            fields.get("username") != self.username
            or fields.get("realm") != REALM
            or fields.get("nonce") != NONCE
            or uri != request.raw_path
        ):
            return False
        ha1 = _md5(self.username, REALM, self.password)
        ha2 = _md5(request.method, uri)
        return fields.get("response") == _md5(ha1, NONCE, ha2)

    def _job_summary(self) -> dict[str, Any]:
        time_printing = self.time_printing
        return {
            "id": self.job_id,
            "progress": self.progress,
            "time_remaining": max(0, int(3600 * (100.0 - self.progress) / 100.0)),
            "time_printing": time_printing,
        }

    async def _version(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "api": "2.0.0",
                "server": "2.1.2",
                "nozzle_diameter": 0.4,
                "text": "PrusaLink",
                "hostname": "prusa-mk4",
                "capabilities": {"upload-by-put": True},
            }
        )

    async def _info(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "nozzle_diameter": 0.4,
                "mmu": False,
                "serial": "10589-3742441632175843",
                "hostname": "prusa-mk4",
                "min_extrusion_temp": 170,
            }
        )

    async def _status(self, _request: web.Request) -> web.Response:
        busy = self.state not in {"IDLE", "READY", "FINISHED", "STOPPED"}
        body: dict[str, Any] = {
            "storage": {"path": "/usb/", "name": "usb", "read_only": False},
            "printer": {
                "state": self.state,
                "temp_bed": 59.8 if busy else 23.1,
                "target_bed": 60.0 if busy else 0.0,
                "temp_nozzle": 214.6 if busy else 24.0,
                "target_nozzle": 215.0 if busy else 0.0,
                "axis_z": 2.4 if busy else 0.0,
                "flow": 100,
                "speed": 100,
                "fan_hotend": 6200 if busy else 0,
                "fan_print": 4300 if busy else 0,
            },
        }
        if not busy:
            body["printer"] |= {"axis_x": 242.0, "axis_y": -9.0}
        if self.job_id is not None:
            body["job"] = self._job_summary()
        return web.json_response(body)

    async def _job(self, _request: web.Request) -> web.Response:
        if self.job_id is None:
            return web.Response(status=204)
        return web.json_response(
            self._job_summary()
            | {
                "state": self.state,
                "inaccurate_estimates": False,
                "file": {
                    "refs": {
                        "icon": "/thumb/s/usb/BENCHY~1.BGC",
                        "thumbnail": _THUMBNAIL,
                        "download": "/usb/BENCHY~1.BGC",
                    },
                    "name": "BENCHY~1.BGC",
                    "display_name": "benchy_0.4n_0.2mm_PLA_MK4_1h2m.bgcode",
                    "path": "/usb",
                    "display_path": "/usb",
                    "size": 1468987,
                    "m_timestamp": 1763000000,
                    "meta": None,
                },
            }
        )

    async def _legacy_printer(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "telemetry": {
                    "temp-bed": 23.1,
                    "temp-nozzle": 24.0,
                    "print-speed": 100,
                    "z-height": 0.0,
                    "material": "PLA",
                },
                "temperature": {
                    "tool0": {"actual": 24.0, "target": 0.0},
                    "bed": {"actual": 23.1, "target": 0.0},
                },
            }
        )

    async def _thumbnail(self, _request: web.Request) -> web.Response:
        return web.Response(body=_PNG, content_type="image/png")
