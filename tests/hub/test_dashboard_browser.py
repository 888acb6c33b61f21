"""The operator's dashboard: in a real headless Chromium, and its authorization over HTTP.

The browser tests drive Debian's ``chromium`` through ``chromedriver`` (both from
apt; ``.ci/run`` installs them).  Nothing is downloaded: the driver's path is given
to selenium, so Selenium Manager is never asked to fetch a browser or a driver.
Without the two programs the browser tests skip, saying chromium is missing.

Database: the browser scenario pins ``db_url`` to SQLite by indirect
parametrisation (conftest's ``db_url`` would otherwise run it on PostgreSQL too).
The dashboard reads through the same queries as the API, which the hub-flow tests
already cover on both databases, and one browser session is the slowest hub test;
the cheap HTTP authorization matrix below still runs on both databases.

Set ``HTLINK_UPDATE_SCREENSHOTS=1`` to copy the screenshot to
``docs/images/hub-dashboard.png`` for the operator guide.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from htlink.hub.dashboard import COOKIE
from tests.hub.hubtools import ROOT, LiveHub
from tests.hub.test_hub_flow import setup_project

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 1600)
PROJECT = "trafficking-2026"
SCREENSHOT_DOC = ROOT / "docs" / "images" / "hub-dashboard.png"
HEADER_BLUE = (0x1A, 0x36, 0x5D)  # base.html: header background
HISTOGRAM_BLUE = (0x2B, 0x6C, 0xB0)  # dashboard.histogram_svg: bar fill

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# -- a browser ---------------------------------------------------------------------------
def require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(
            f"chromium is missing ({', '.join(missing)} not found): install Debian's "
            "`chromium` and `chromium-driver` packages (.ci/run does) to run the dashboard "
            "browser tests"
        )
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium with its own profile in ``tmp_path``."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager never downloads
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    service = Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: Any, token: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "sign-in").click()
    wait_stale(driver, old)


def wait_stale(driver: Any, element: Any) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(ec.staleness_of(element))


def table_rows(driver: Any, table_id: str) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.ID, table_id)
    return [
        [cell.text.strip() for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
        for row in table.find_elements(By.TAG_NAME, "tr")
    ]


# -- the scenario ------------------------------------------------------------------------
def two_of_three_with_a_run(hub: LiveHub, tmp_path: Path) -> dict[str, Any]:
    """Three agencies, clinic and court uploaded, a completed run of the two; clinic's links."""
    _, tokens, folders = setup_project(hub, tmp_path)
    for name in ("clinic", "court"):
        hub.client(tokens[name]["upload"]).upload(PROJECT, folders[name])
    admin = hub.client()
    run = admin.start_run(PROJECT, ["clinic", "court"])
    info = admin.wait_run(PROJECT, run["id"], interval=0.1)
    assert info["status"] == "completed", info
    out = tmp_path / "clinic.links.csv"
    hub.client(tokens["clinic"]["results"]).fetch_links(PROJECT, out)
    links = pd.read_csv(out, dtype={"row_token": str, "pseudonym": str})
    assert len(links) == 200
    return {"tokens": tokens, "run": info, "links": links}


@sqlite_only
def test_dashboard_in_a_browser(browser: Any, live_hub: LiveHub, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    made = two_of_three_with_a_run(live_hub, tmp_path)
    tokens, run, links = made["tokens"], made["run"], made["links"]
    driver = browser

    # no cookie: the dashboard sends the browser to the sign-in form
    driver.get(live_hub.url + "/dashboard")
    assert driver.current_url == live_hub.url + "/dashboard/login"
    assert driver.find_elements(By.ID, "login-error") == []

    # a token the hub does not know: the form again, with the reason, and no cookie
    sign_in(driver, live_hub.admin_token[:17] + "A" * 43)
    assert driver.current_url == live_hub.url + "/dashboard/login"
    error = driver.find_element(By.ID, "login-error")
    assert error.is_displayed() and error.text
    assert driver.get_cookies() == []

    # an agency's tokens are refused: the dashboard is the operator's
    for role in ("upload", "results"):
        sign_in(driver, tokens["clinic"][role])
        error = driver.find_element(By.ID, "login-error")
        assert "admin token" in error.text
        assert driver.get_cookies() == []
    driver.get(live_hub.url + "/dashboard")
    assert driver.current_url.endswith("/dashboard/login")

    # the admin token: the overview, and an HttpOnly SameSite=Strict cookie for /dashboard
    sign_in(driver, live_hub.admin_token)
    assert driver.current_url == live_hub.url + "/dashboard"
    (cookie,) = driver.get_cookies()
    assert cookie["name"] == COOKIE and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert driver.execute_script("return document.cookie") == ""  # not readable by scripts
    assert driver.find_element(By.TAG_NAME, "h1").text == "Projects"
    rows = table_rows(driver, "projects")
    assert rows[0] == ["Project", "Submissions", "Latest run", "Progress"]
    (row,) = [r for r in rows[1:] if r[0] == PROJECT]
    assert row[1] == "2 of 3 agencies"
    assert row[2] == "completed" and row[3].startswith("100%")

    # the project page
    driver.find_element(By.LINK_TEXT, PROJECT).click()
    assert driver.current_url == f"{live_hub.url}/dashboard/projects/{PROJECT}"
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Project {PROJECT}"
    submissions = {r[0]: r for r in table_rows(driver, "submissions")[1:]}
    assert set(submissions) == {"clinic", "court", "shelter"}
    for name in ("clinic", "court"):
        assert submissions[name][1] == "submitted" and submissions[name][2] == "200"
    assert submissions["shelter"][1] == "waiting" and submissions["shelter"][2] == ""

    runs = table_rows(driver, "runs")[1:]
    (done,) = [r for r in runs if r[0] == run["id"]]
    assert done[1] == "completed"
    assert "100%" in done[2]
    assert done[3] == "clinic, court"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", x) for x in done[4:6]), done
    bar = driver.find_element(By.CSS_SELECTOR, "#runs progress")
    assert float(bar.get_attribute("value")) == 1.0

    svg = driver.find_element(By.CSS_SELECTOR, "#histogram svg")
    assert svg.get_attribute("aria-label")
    bars = svg.find_elements(By.TAG_NAME, "rect")
    counts = run["summary"]["similarity_histogram"]["counts"]
    assert len(bars) == len(counts)
    heights = [float(b.get_attribute("height")) for b in bars]
    assert sum(h > 0 for h in heights) == sum(c > 0 for c in counts) > 0
    assert svg.size["width"] > 300 and svg.size["height"] > 100  # laid out, not collapsed

    pairs = {r[0]: r for r in table_rows(driver, "pairs")[1:]}
    accepted = run["summary"]["pairs"]["clinic~court"]["accepted_links"]
    assert accepted > 0
    assert pairs["clinic~court"][3] == f"{accepted:,}"
    sizes = table_rows(driver, "cluster-sizes")
    assert sizes[0] == ["Records per person", "People"]
    assert {r[0] for r in sizes[1:]} == set(run["summary"]["cluster_sizes"])

    # aggregates only: no row token, no pseudonym, no token of any kind in the page
    page = driver.page_source
    leaked = [t for t in links["row_token"] if t in page] + [
        p for p in links["pseudonym"] if p in page
    ]
    assert leaked == []
    assert live_hub.admin_token not in page
    assert all(t not in page for agency in tokens.values() for t in agency.values())

    # a screenshot that really rendered
    shot = tmp_path / "hub-dashboard.png"
    assert driver.save_screenshot(str(shot))
    check_screenshot(shot, driver)
    if os.environ.get("HTLINK_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT_DOC.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT_DOC)

    # signing out drops the cookie; the dashboard asks for the token again
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.XPATH, "//header//button[normalize-space()='Sign out']").click()
    wait_stale(driver, old)
    assert driver.current_url == live_hub.url + "/dashboard/login"
    assert driver.get_cookies() == []
    driver.get(f"{live_hub.url}/dashboard/projects/{PROJECT}")
    assert driver.current_url == live_hub.url + "/dashboard/login"


def check_screenshot(path: Path, driver: Any) -> None:
    """A PNG the size of the viewport, not blank, with the dashboard's own colours in it."""
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height, ratio = driver.execute_script(
        "return [window.innerWidth, window.innerHeight, window.devicePixelRatio]"
    )
    assert image.size == (round(width * ratio), round(height * ratio))
    assert image.size[0] >= 1000 and image.size[1] >= 1000
    pixels = np.asarray(image).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    assert len(colours) > 20, "the screenshot is (nearly) blank"
    assert counts.max() / len(pixels) < 0.9, "one colour fills the screenshot"

    def share(rgb: tuple[int, int, int]) -> float:
        return float(np.all(pixels == rgb, axis=1).mean())

    assert share(HEADER_BLUE) > 0.01, "no header blue #1a365d in the screenshot"
    assert share(HISTOGRAM_BLUE) > 0.002, "no histogram blue #2b6cb0 in the screenshot"
    top = np.asarray(image)[:10].reshape(-1, 3)  # the header spans the top of the page
    assert np.all(top == HEADER_BLUE, axis=1).mean() > 0.9


# -- authorization over plain HTTP -------------------------------------------------------
def dashboard_get(hub: LiveHub, path: str, cookie: str | None) -> httpx.Response:
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {}
    return httpx.get(hub.url + path, headers=headers, follow_redirects=False, timeout=30)


def test_dashboard_authorization(live_hub: LiveHub, tmp_path: Path) -> None:
    """Every dashboard route for no cookie, a wrong token, each agency token and admin."""
    _, tokens, _ = setup_project(live_hub, tmp_path)
    admin = live_hub.admin_token
    admin_client = live_hub.client()
    revoked = admin_client.issue_token(PROJECT, {"agency": "shelter", "role": "results"})
    admin_client.revoke_token(revoked["info"]["id"])
    wrong = {
        "not a token": "not-a-token",
        "the admin's id, a wrong secret": admin[:17] + "A" * 43,
        "revoked": revoked["token"],
    }
    pages = ["/dashboard", f"/dashboard/projects/{PROJECT}", "/dashboard/projects/no-such"]
    cases = [(f"wrong token ({k})", v, 401) for k, v in wrong.items()] + [
        ("empty cookie", "", 303),  # an empty cookie is no cookie
        ("clinic upload", tokens["clinic"]["upload"], 403),
        ("court results", tokens["court"]["results"], 403),
    ]
    for path in pages:
        r = dashboard_get(live_hub, path, None)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login", path
        for case, cookie, status in cases:
            r = dashboard_get(live_hub, path, cookie)
            assert r.status_code == status, (path, case, r.text[:200])
            if status == 303:
                assert r.headers["location"] == "/dashboard/login"
                continue
            assert r.headers["content-type"].startswith("text/html"), (path, case)
            assert 'id="login-error"' in r.text and 'name="token"' in r.text
            assert PROJECT not in r.text  # nothing about the projects
            assert cookie not in r.text
            assert f"{COOKIE}=" in r.headers.get("set-cookie", "")  # the bad cookie is dropped
            if status == 403:
                assert "admin token" in r.text

    r = dashboard_get(live_hub, "/dashboard", admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'href="/dashboard/projects/{PROJECT}"' in r.text and "0 of 3 agencies" in r.text
    r = dashboard_get(live_hub, f"/dashboard/projects/{PROJECT}", admin)
    assert r.status_code == 200 and 'id="submissions"' in r.text and "No runs yet." in r.text
    r = dashboard_get(live_hub, "/dashboard/projects/no-such", admin)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "No such project." in r.text
    # the admin token as a bearer header is not a dashboard session
    r = httpx.get(
        live_hub.url + "/dashboard",
        headers={"Authorization": f"Bearer {admin}"},
        follow_redirects=False,
    )
    assert r.status_code == 303

    # the sign-in form itself
    assert httpx.get(live_hub.url + "/dashboard/login").status_code == 200
    for token, status in (
        ("", 401),
        *((w, 401) for w in wrong.values()),
        (tokens["clinic"]["upload"], 403),
        (tokens["shelter"]["results"], 403),
    ):
        r = httpx.post(
            live_hub.url + "/dashboard/login", data={"token": token}, follow_redirects=False
        )
        assert r.status_code == status, (status, r.text[:200])
        assert "set-cookie" not in r.headers
        assert 'id="login-error"' in r.text
    r = httpx.post(live_hub.url + "/dashboard/login", data={"token": "x" * 1_000_000})
    assert r.status_code == 413 and "set-cookie" not in r.headers  # unauthenticated: bounded
    r = httpx.post(live_hub.url + "/dashboard/login", data={"token": admin}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")}
    session = cookie.split(";")[0].split("=", 1)[1]
    assert session != admin and admin not in cookie  # a session token, not the operator's
    who = live_hub.http(session).get("/api/v1/whoami").json()
    assert who["role"] == "admin"
    assert "max-age" in attributes and int(attributes["max-age"].split("=")[1]) <= 8 * 3600
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/dashboard"
    assert "secure" not in attributes  # plain HTTP on loopback; set behind https

    # signing out clears the cookie and revokes the session token, not the operator's token
    r = httpx.post(
        live_hub.url + "/dashboard/logout",
        headers={"Cookie": f"{COOKIE}={session}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert f'{COOKIE}=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert live_hub.http(session).get("/api/v1/whoami").status_code == 401
    assert live_hub.http(admin).get("/api/v1/whoami").status_code == 200
    r = httpx.post(
        live_hub.url + "/dashboard/logout",
        headers={"Cookie": f"{COOKIE}={admin}"},
        follow_redirects=False,
    )
    assert live_hub.http(admin).get("/api/v1/whoami").status_code == 200  # not revoked

    # every refusal is in the audit log
    entries = [e for e in admin_client.audit() if e["action"].startswith("dashboard.")]
    refused = [e for e in entries if e["outcome"] == "refused"]
    assert {e["action"] for e in refused} == {"dashboard.view", "dashboard.login"}
    # sessions are recorded: one sign-in and its sign-out
    done = sorted((e["action"], e["outcome"]) for e in entries if e["outcome"] != "refused")
    assert done == [("dashboard.login", "ok"), ("dashboard.logout", "ok")]
