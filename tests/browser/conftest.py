"""Browser fixtures: a live server on a real socket, Debian's Chromium driven by Playwright,
and helpers that sign in, keep screenshots and run the axe accessibility scan.

The clock is real here: the server answers from its own thread, which freezegun would not
reach consistently, so rows are created with dates relative to today in the program's time
zone (`program_today`). Chromium is Debian's (`/usr/bin/chromium`, installed by `make test`);
Playwright never downloads a browser.
"""

import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from compliance import worker
from compliance.models import PrescriberProfile
from compliance.programs import DEFAULT_PROGRAM, program
from tests.conftest import current_code
from tests.mail_helpers import Sink, SmtpServer, link_in

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium reaches for the network, which is closed.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = ("serious", "critical")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent
FOCUS_RINGS = (HERE / "focus_rings.js").read_text()


def pytest_collection_modifyitems(items):
    """Mark every test under tests/browser `browser` (this hook sees the whole session)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- the server -------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Keep pytest's captured output to errors: no line per request."""

    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class LiveServer:
    app: Flask
    url: str

    def __call__(self, path: str) -> str:
        """An absolute URL on this server for `path`."""
        return self.url + path


_SERVED: dict[str, Flask] = {}  # the live server's app, where the sign-in helpers read codes


@pytest.fixture
def live_server(app):
    """The test's `app` (same database as `factory`) served on 127.0.0.1, a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    # Links the app builds with _external=True (activation links) point at this server.
    app.config["SERVER_NAME"] = f"127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    _SERVED["app"] = app
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        _SERVED.clear()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Mailbox:
    """What the live server's worker delivered to a real SMTP server on loopback."""

    def __init__(self, app: Flask, sink: Sink):
        self.app, self.sink = app, sink

    def link_for(self, address: str) -> str:
        """Run the worker once, and return the link of the newest email to `address`."""
        worker.one_pass(self.app)
        received = self.sink.to(address)
        assert received, f"no email reached {address}"
        return link_in(received[-1])


@pytest.fixture
def mailbox(live_server, free_tcp_port):
    """Email from the live server's app, through aiosmtpd on loopback; links point at the
    live server."""
    server = SmtpServer(Sink(), free_tcp_port)
    live_server.app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_tcp_port,
                                  PUBLIC_URL=live_server.url)
    yield Mailbox(live_server.app, server.sink)
    server.stop()


# --- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Browser:
    """One headless Chromium for the whole session (each test gets its own context)."""
    if not os.access(CHROMIUM, os.X_OK):
        message = (f"{CHROMIUM} is missing: `make test` installs it "
                   "(apt-get install chromium); Playwright must not download a browser")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open_page(browser: Browser, **options):
    context = browser.new_context(locale="en-US", timezone_id="America/New_York", **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server) -> Page:
    """A desktop page (1280x900) in a fresh context: no cookies shared between tests."""
    context, tab = _open_page(browser, viewport=DESKTOP)
    yield tab
    context.close()


@pytest.fixture
def phone_page(browser, live_server) -> Page:
    """A phone-sized page (390x844, touch, mobile viewport rules) in a fresh context."""
    context, tab = _open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    yield tab
    context.close()


# --- helpers ----------------------------------------------------------------------------


def program_today(app: Flask) -> date:
    """Today in the program's time zone (America/New_York for iPLEDGE), by the real clock."""
    with app.app_context():
        zone = program(DEFAULT_PROGRAM).zone
    return datetime.now(UTC).astimezone(zone).date()


def certify_from_today(db, prescriber: PrescriberProfile, today: date) -> None:
    """Put a factory prescriber's certification in force around `today`, whatever the date
    (the factory's fixed dates suit frozen tests, not the real clock)."""
    prescriber.certification_status = "certified"
    prescriber.certified_on = today - timedelta(days=30)
    prescriber.certification_expires_on = today + timedelta(days=335)
    db.add(prescriber)
    db.commit()


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Sign in through the real forms, the authenticator's code included (set up first,
    from the key on the page, when the account has none yet); fail with the page's message
    if it is refused."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if urlpath(page.url) == "/login/enroll":
        key = page.locator("#setup-key").inner_text().replace(" ", "")
        page.get_by_label("Code").fill(pyotp.TOTP(key).now())
        with page.expect_navigation():
            page.get_by_role("button", name="Turn on two-step sign-in").click()
        with page.expect_navigation():
            page.get_by_role("link", name="I have saved my codes").click()
    elif urlpath(page.url) == "/login/code":
        page.get_by_label("Code").fill(current_code(_SERVED["app"], email))
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in", exact=True).click()
    if urlpath(page.url).startswith("/login"):
        errors = page.locator(".form-errors, .field-error").all_inner_texts()
        pytest.fail(f"sign-in as {email} refused: {' / '.join(errors) or page.title()}")


def sign_in_quickly(page: Page, base_url: str, email: str, password: str, *,
                    password_only: bool = False) -> None:
    """Sign in by posting the login forms from the page's own cookie jar, without rendering
    them (about a second less per test); `sign_in` and the journeys drive the forms.
    `password_only` stops before the authenticator's code, on the step that asks for it."""
    answer = _post_page_form(page, f"{base_url}/login", {"email": email, "password": password})
    if password_only:
        assert "/login/" in answer.headers.get("location", ""), f"{email}: {answer.status}"
        return
    if answer.headers.get("location", "").endswith("/login/code"):
        code = current_code(_SERVED["app"], email)
        answer = _post_page_form(page, f"{base_url}/login/code", {"code": code})
    assert answer.status == 302, f"sign-in as {email} refused ({answer.status})"


def _post_page_form(page: Page, url: str, data: dict):
    form = page.request.get(url)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text())
    assert token, f"no CSRF token on {url} ({form.status})"
    return page.request.post(url, max_redirects=0, form={"csrf_token": token.group(1), **data})


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


def snapshot(page: Page, name: str) -> Path:
    """Keep a full-page PNG as test-artifacts/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_current_test()}-{_slug(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _current_test() -> str:
    """The running test's name with its parameters, e.g. `test_page_is_accessible-login`."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
    return _slug(current.rsplit("::", 1)[-1])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def serious_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it stands whose impact is serious or critical."""
    from axe_playwright_python.sync_playwright import Axe

    # What Axe().run(page) does, but axe-core (560 kB) is injected once per document, so
    # the rescan at phone width after a resize does not parse it again.
    if page.evaluate("typeof window.axe === 'undefined'"):
        page.evaluate(Axe().axe_script)
    violations = page.evaluate(
        "axe.run({resultTypes: ['violations']}).then(results => results.violations)")
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def weak_focus_rings(page: Page) -> list[str]:
    """Focusable elements whose focus ring is missing or under 3:1 against its surround."""
    return page.evaluate(FOCUS_RINGS)


def overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        more = len(violation["nodes"]) - len(targets)
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
                     f"    on {', '.join(targets)}{f' and {more} more' if more > 0 else ''}\n"
                     f"    {violation.get('helpUrl', '')}")
    return "\n".join(lines)


def assert_accessible(page: Page, name: str) -> None:
    """Fail with a readable list when axe finds a serious or critical violation."""
    if violations := serious_violations(page):
        pytest.fail(f"{name} ({urlpath(page.url)}): {len(violations)} serious or critical "
                    f"accessibility violation(s):\n{describe_violations(violations)}",
                    pytrace=False)
