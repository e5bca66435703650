"""The dashboard in a real headless Chromium, against a real receiver with generated demo data.

Signs in with the admin key through the sign-in form, waits for every card, checks that each chart
was drawn from data (Chart.js objects with non-empty datasets, painted canvas pixels), that the session
cookie is HttpOnly and SameSite=Strict and nothing is kept in the page's storage, that a cross-site
form cannot sign out, and that the page and its data are refused without a session. Screenshots
(desktop light and dark, phone) go to `.artifacts/`.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from receiver.demo.load import fill_database
from receiver.demo.world import DemoConfig, planted_anomalies
from tests.browser import Page, chromium, chromium_path
from tests.receiver.conftest import ADMIN_KEY, server_env
from tests.receiver_server import ROOT, RunningReceiver, run_receiver

ARTIFACTS = ROOT / ".artifacts"
CHARTS = (
    "installations",
    "versions",
    "modes",
    "countries",
    "families",
    "models",
    "fleet",
    "features",
    "jobs",
    "errors",
    "reliability",
)
# A small world: enough weeks for the anomaly baselines and the per-model breakdown (release 0.8.0).
DEMO = DemoConfig(installations=50, weeks=30, seed=7)

CHART_FACTS = """
(() => {
  const facts = {};
  for (const [name, chart] of Object.entries(window.dashboard.charts)) {
    const canvas = chart.canvas;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4 * 5) if (pixels[i] > 0) painted += 1;
    const values = chart.data.datasets.flatMap((d) => d.data)
      .filter((v) => v !== null && v !== undefined && (Array.isArray(v) ? v[1] > 0 : v !== 0));
    facts[name] = {
      type: chart.config.type, datasets: chart.data.datasets.length, values: values.length,
      labels: chart.data.labels.length, painted, width: canvas.width, height: canvas.height,
    };
  }
  return facts;
})()
"""


@pytest.fixture(scope="module")
def demo_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    workdir = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite+aiosqlite:///{workdir / 'demo.db'}"
    asyncio.run(fill_database(url, DEMO, progress=open(workdir / "progress.txt", "w")))  # noqa: SIM115
    with run_receiver(url, workdir, server_env()) as receiver:
        yield receiver


@pytest.fixture
def page() -> Iterator[Page]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    with chromium(executable) as tab:
        yield tab


def _path(page: Page) -> str:
    path: str = page.evaluate("location.pathname")
    return path


def _status_of(page: Page, path: str) -> int:
    status: int = page.evaluate(
        f"fetch({json.dumps(path)}, {{credentials: 'same-origin'}}).then((r) => r.status)",
        await_promise=True,
    )
    return status


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/dashboard/sign-in")
    page.evaluate(
        f"document.getElementById('admin_key').value = {json.dumps(ADMIN_KEY)};"
        "document.querySelector('form').requestSubmit();"
    )
    page.wait_for("location.pathname === '/dashboard' && document.readyState === 'complete'")
    page.wait_for("window.dashboard && window.dashboard.loaded", timeout=60)


def test_the_dashboard_is_refused_without_a_session(
    demo_receiver: RunningReceiver, page: Page
) -> None:
    base = demo_receiver.url
    # GET / in a browser leads to the dashboard, which sends a visitor without a session to sign in.
    page.goto(f"{base}/")
    assert _path(page) == "/dashboard/sign-in"
    page.goto(f"{base}/dashboard")
    assert _path(page) == "/dashboard/sign-in"
    assert page.evaluate("document.querySelector('form').getAttribute('action')") == (
        "/dashboard/sign-in"
    )
    assert _status_of(page, "/dashboard/api/stats/overview") == 401
    assert _status_of(page, "/dashboard/api/stats/reliability") == 401
    # a wrong key does not sign in
    page.evaluate(
        "document.getElementById('admin_key').value = 'not-the-admin-key-000000000';"
        "document.querySelector('form').requestSubmit();"
    )
    # The sign-in page always has the (empty) message element: wait for the answer's text itself.
    page.wait_for(
        "(document.querySelector('.error') || {textContent: ''}).textContent"
        ".includes('not an admin key')"
    )
    page.goto(f"{base}/dashboard")
    assert _path(page) == "/dashboard/sign-in"


def test_signed_in_every_chart_is_drawn_from_the_seeded_data(
    demo_receiver: RunningReceiver, page: Page
) -> None:
    base = demo_receiver.url
    _sign_in(page, base)
    statuses: dict[str, str] = page.evaluate("window.dashboard.status")
    problems = {name: status for name, status in statuses.items() if status != "ok"}
    assert not problems, (problems, page.console[-10:])
    facts: dict[str, dict[str, Any]] = page.evaluate(CHART_FACTS)
    assert sorted(facts) == sorted(CHARTS)
    for name in CHARTS:
        fact = facts[name]
        assert fact["datasets"] > 0, (name, fact)
        assert fact["values"] > 0, (name, fact)
        assert fact["width"] > 100, (name, fact)
        assert fact["height"] > 100, (name, fact)
        assert fact["painted"] > 200, (name, fact)
    # The weekly charts cover the range: 12 ISO weeks by default.
    for name in ("installations", "versions", "jobs", "errors"):
        assert facts[name]["labels"] == 12, (name, facts[name])
    assert page.evaluate("document.querySelectorAll('#anomaly-list li').length") >= 1
    assert page.evaluate("document.querySelectorAll('#reliability-table tbody tr').length") >= 5
    tiles: list[str] = page.evaluate(
        "[...document.querySelectorAll('.tile .value')].map((e) => e.textContent)"
    )
    assert all(tile not in ("", "\u2013") for tile in tiles), tiles  # en dash: no value
    assert not [line for line in page.console if line.startswith(("error", "exception"))]

    # The session cookie: HttpOnly, SameSite=Strict, invisible to scripts; nothing in storage.
    cookies = {cookie["name"]: cookie for cookie in page.cookies(f"{base}/dashboard")}
    session = cookies["printernizer_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/dashboard"
    assert ADMIN_KEY not in session["value"]
    assert "printernizer_session" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert ADMIN_KEY not in page.evaluate("document.documentElement.outerHTML")

    page.screenshot(ARTIFACTS / "dashboard.png")
    page.viewport(1280, 900, dark=True)
    page.evaluate("window.dashboard.loaded = false; document.getElementById('refresh').click()")
    page.wait_for("window.dashboard.loaded", timeout=60)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(244, 245, 247)"
    page.screenshot(ARTIFACTS / "dashboard-dark.png")
    page.viewport(390, 844, mobile=True)
    page.evaluate("window.dashboard.loaded = false; document.getElementById('refresh').click()")
    page.wait_for("window.dashboard.loaded", timeout=60)
    widths: list[int] = page.evaluate(
        "[...document.querySelectorAll('.card')].map((e) => e.getBoundingClientRect().right)"
    )
    assert max(widths) <= 390, widths  # one column, nothing wider than the phone
    page.screenshot(ARTIFACTS / "dashboard-phone.png")


def test_a_cross_site_form_cannot_sign_out_and_sign_out_ends_the_session(
    demo_receiver: RunningReceiver, page: Page
) -> None:
    base = demo_receiver.url
    _sign_in(page, base)
    # Another site's page posting to the dashboard: the browser sends no session cookie
    # (SameSite=Strict) and the receiver refuses the foreign origin.
    attack = (
        f"<form method='post' action='{base}/dashboard/sign-out'>"
        "<input name='csrf_token' value='guessed'></form>"
        "<script>document.forms[0].submit()</script>"
    )
    page.goto("data:text/html," + attack)
    page.wait_for(
        "location.href.includes('/dashboard/sign-out') && !!document.body"
        " && document.body.innerText.includes('forbidden')"
    )
    page.goto(f"{base}/dashboard")
    assert _path(page) == "/dashboard"

    page.wait_for("window.dashboard && window.dashboard.loaded", timeout=60)
    page.evaluate("document.querySelector('form.sign-out button').click()")
    page.wait_for("location.pathname === '/dashboard/sign-in'")
    assert _status_of(page, "/dashboard/api/stats/overview") == 401
    page.goto(f"{base}/dashboard")
    assert _path(page) == "/dashboard/sign-in"


def test_the_seeded_anomalies_are_found(demo_receiver: RunningReceiver) -> None:
    """The demo world's planted anomalies show up in the analytics the dashboard lists."""
    headers = {"X-API-Key": ADMIN_KEY}
    answer = httpx.get(
        f"{demo_receiver.url}/stats/anomalies", params={"weeks": 12}, headers=headers, timeout=30
    )
    assert answer.status_code == 200, answer.text
    found = {(anomaly["kind"], anomaly["week"]) for anomaly in answer.json()["anomalies"]}
    planted = {anomaly.kind: anomaly.week for anomaly in planted_anomalies(DEMO)}

    def week(kind: str) -> str:
        year, number, _ = planted[kind].isocalendar()
        return f"{year}-W{number:02d}"

    assert ("submission_surge", week("submission_surge")) in found, found
    assert ("error_rate_spike", week("error_spike")) in found, found
    assert ("version_failure_rate", week("version_failure")) in found or any(
        kind == "version_failure_rate" for kind, _ in found
    ), found
    # The drop: in a world this small it sits near the detector's threshold; the series shows it.
    series = httpx.get(
        f"{demo_receiver.url}/stats/installations",
        params={"weeks": 12},
        headers=headers,
        timeout=30,
    ).json()["series"]
    active = {row["week"]: row["active"] for row in series}
    drop_week = week("installation_drop")
    weeks = [row["week"] for row in series]
    before = weeks[weeks.index(drop_week) - 1]
    assert active[drop_week] < 0.6 * active[before], active


def test_the_chart_library_is_served_by_the_receiver(demo_receiver: RunningReceiver) -> None:
    library = httpx.get(f"{demo_receiver.url}/dashboard/static/vendor/chart.umd.min.js")
    assert library.status_code == 200, "run ./scripts/test (npm ci) to install the chart library"
    assert "javascript" in library.headers["content-type"]
    assert len(library.content) > 100_000
    assert httpx.get(f"{demo_receiver.url}/dashboard/static/dashboard.js").status_code == 200
