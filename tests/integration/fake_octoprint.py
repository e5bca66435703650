"""A fake OctoPrint server: just the endpoints Home Assistant's `octoprint` integration reads
(`pyoctoprintapi` 0.1.14), answering as OctoPrint does.

- `GET /api/settings` (config flow: `plugins.discovery.upnpUuid`; camera platform: `webcam`)
- `GET /api/job` (every poll): `state` text, `job.file`, `progress.completion` / `printTime`
- `GET /api/printer` (every poll): `state.text` + `state.flags`, temperatures; `409 Printer is not
  operational` while the printer is not connected or after an error (the integration's status entity
  then goes `unavailable`)

All need the `X-Api-Key` header (403 otherwise). The state is changed by the test between polls.
"""

import time

from aiohttp import web

from .fake_http import FakeHttpDevice

API_KEY = "fake-octoprint-api-key-0123456789"
UPNP_UUID = "0b4a5c1e-7d2f-4c3b-9a8e-fake0ct0pr1nt"

# OctoPrint's state texts (octoprint.util.comm.MachineCom.getStateString) and the flags it reports with
# them; the job runs (print time grows) in the ones marked True.
_STATES: dict[str, tuple[frozenset[str], bool]] = {
    "Operational": (frozenset({"operational", "ready"}), False),
    "Starting": (frozenset({"operational", "printing"}), True),
    "Starting print from SD": (frozenset({"operational", "printing"}), True),
    "Starting to send file to SD": (frozenset({"operational", "printing"}), False),
    "Printing": (frozenset({"operational", "printing"}), True),
    "Printing from SD": (frozenset({"operational", "printing"}), True),
    # Uploading a file to the printer's SD card over serial: OctoPrint's PRINTING state while streaming.
    "Sending file to SD": (frozenset({"operational", "printing"}), False),
    "Transferring file to SD": (frozenset({"operational"}), False),
    "Pausing": (frozenset({"operational", "pausing", "paused"}), False),
    "Paused": (frozenset({"operational", "paused"}), False),
    "Resuming": (frozenset({"operational", "resuming", "printing"}), True),
    "Cancelling": (frozenset({"operational", "cancelling", "printing"}), True),
    "Finishing": (frozenset({"operational", "finishing", "printing"}), True),
}
_ALL_FLAGS = (
    "operational",
    "paused",
    "printing",
    "pausing",
    "cancelling",
    "sdReady",
    "error",
    "ready",
    "closedOrError",
    "finishing",
    "resuming",
)
# States in which a job (a selected file being printed or streamed) is under way.
_JOB_STATES = frozenset(_STATES) - {"Operational", "Transferring file to SD"}


class FakeOctoPrint(FakeHttpDevice):
    """One OctoPrint instance with one printer. `set_state` with one of OctoPrint's state texts."""

    api_key = API_KEY
    upnp_uuid = UPNP_UUID

    def __init__(self) -> None:
        super().__init__()
        self.state_text = "Operational"
        self.operational = True
        self.file_name: str | None = None
        self.origin: str | None = None
        self.completion: float | None = None
        self._print_time = 0.0
        self._running_since: float | None = None

    # --- what the test changes ----------------------------------------------------------------

    def set_state(
        self,
        text: str,
        *,
        progress: float | None = None,
        file_name: str = "benchy.gcode",
        origin: str = "local",
    ) -> None:
        """Change the printer's state text (the next poll sees it). Entering a job state from a
        state without a job starts a new job (file selected, progress and print time from 0);
        `progress` (0..100) is kept until changed."""
        if text not in _STATES:
            raise ValueError(f"not an OctoPrint state text: {text}")
        self._settle()
        starting = text in _JOB_STATES and (
            not self.operational or self.state_text not in _JOB_STATES
        )
        if starting:
            self.file_name = file_name
            self.origin = "sdcard" if "SD" in text else origin
            self.completion = 0.0
            self._print_time = 0.0
        self.operational = True
        self.state_text = text
        if progress is not None:
            self.completion = progress
        self._running_since = time.time() if self._running() else None

    def set_progress(self, progress: float) -> None:
        self.completion = progress

    def make_not_operational(self, text: str = "Offline after error") -> None:
        """The printer's serial connection is gone (error, unplugged): `/api/printer` answers 409,
        `/api/job` reports `text` (OctoPrint keeps the selected file and the last progress)."""
        self._settle()
        self.operational = False
        self.state_text = text
        self._running_since = None

    def clear_job(self) -> None:
        """No file selected any more (as after OctoPrint restarts or the file is deselected)."""
        self.file_name = None
        self.origin = None
        self.completion = None
        self._print_time = 0.0

    @property
    def state_label(self) -> str:
        if not self.powered:
            return "powered off"
        return self.state_text if self.operational else f"{self.state_text} (409)"

    @property
    def print_time(self) -> int | None:
        """OctoPrint's `progress.printTime` (seconds the job has been running)."""
        self._settle()
        return None if self.file_name is None else int(self._print_time)

    def _running(self) -> bool:
        return self.operational and _STATES[self.state_text][1]

    def _settle(self) -> None:
        if self._running_since is not None:
            now = time.time()
            self._print_time += now - self._running_since
            self._running_since = now if self._running() else None

    # --- HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/settings", self._settings),
            web.get("/api/job", self._job),
            web.get("/api/printer", self._printer),
        ]

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("X-Api-Key") == self.api_key

    async def _settings(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=403, text="Forbidden")
        return web.json_response(
            {
                "plugins": {
                    "discovery": {
                        "httpPassword": None,
                        "httpUsername": None,
                        "publicHost": None,
                        "publicPort": 80,
                        "upnpUuid": self.upnp_uuid,
                    },
                    "tracking": {"enabled": False, "unique_id": "fake-tracking-id"},
                },
                "webcam": {
                    "webcamEnabled": False,
                    "streamUrl": "/webcam/?action=stream",
                    "snapshotUrl": "http://127.0.0.1:8080/?action=snapshot",
                    "snapshotSslValidation": True,
                    "bitrate": "10000k",
                    "flipH": False,
                    "flipV": False,
                    "rotate90": False,
                },
            }
        )

    async def _job(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=403, text="Forbidden")
        print_time = self.print_time
        completion = self.completion
        estimated = 3600.0
        left = None
        if print_time is not None and completion is not None:
            left = max(0, int(estimated * (100.0 - completion) / 100.0))
        return web.json_response(
            {
                "job": {
                    "file": {
                        "name": self.file_name,
                        "display": self.file_name,
                        "path": self.file_name,
                        "origin": self.origin,
                        "size": None if self.file_name is None else 1468987,
                        "date": None if self.file_name is None else 1763000000,
                    },
                    "estimatedPrintTime": None if self.file_name is None else estimated,
                    "filament": None
                    if self.file_name is None
                    else {"tool0": {"length": 3810.5, "volume": 9.17}},
                    "user": None if self.file_name is None else "maker",
                },
                "progress": {
                    "completion": completion,
                    "filepos": None if completion is None else int(1468987 * completion / 100),
                    "printTime": print_time,
                    "printTimeLeft": left,
                    "printTimeLeftOrigin": None if left is None else "estimate",
                },
                "state": self.state_text,
            }
        )

    async def _printer(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=403, text="Forbidden")
        if not self.operational:
            return web.Response(status=409, text="Printer is not operational")
        flags, _ = _STATES[self.state_text]
        heating = self.state_text != "Operational"
        return web.json_response(
            {
                "temperature": {
                    "tool0": {
                        "actual": 214.8 if heating else 24.1,
                        "target": 215.0 if heating else 0.0,
                        "offset": 0,
                    },
                    "bed": {
                        "actual": 59.9 if heating else 23.5,
                        "target": 60.0 if heating else 0.0,
                        "offset": 0,
                    },
                },
                "sd": {"ready": True},
                "state": {
                    "text": self.state_text,
                    "error": "",
                    "flags": {flag: flag in flags or (flag == "sdReady") for flag in _ALL_FLAGS},
                },
            }
        )
