"""Does every response carry the security headers, and does every error look calm?"""

import json
import logging
import re
from pathlib import Path

import pytest

from compliance import create_app
from compliance.auth import public
from compliance.config import load_config
from tests.conftest import sign_in
from tests.security_helpers import in_layout, make_cast

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")



def _reference(response) -> str:
    """The reference id printed on an error page."""
    match = re.search(r"Error \d+ · reference ([A-Za-z0-9._-]*)", response.text)
    return match.group(1) if match else ""


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/login", 200),
    ("GET", "/", 302),
    ("GET", "/admin/users", 302),
    ("GET", "/static/app.css", 200),
    ("GET", "/no-such-page", 404),
    ("GET", "/logout", 405),
    ("POST", "/logout", 400),
    ("GET", "/api/v1/", 200),
    ("GET", "/api/v1/no-such-thing", 404),
])
def test_every_response_carries_the_security_headers(client, method, path, status):
    """Do pages, redirects, files, errors and API answers all carry CSP, nosniff and an id?"""
    with client.open(path, method=method) as response:
        pass
    assert response.status_code == status
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert REQUEST_ID.match(response.headers["X-Request-Id"])
    if response.mimetype == "text/html" or path.startswith("/api/"):
        assert response.headers["Cache-Control"] == "no-store", "pages and API answers"
    else:
        assert "no-store" not in response.headers.get("Cache-Control", ""), "static files"


def test_sqlite_syncs_every_commit_to_disk(tmp_path):
    """Is a committed row on disk when the commit returns (synchronous=FULL under WAL)?"""
    from compliance.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'sync.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_each_response_gets_its_own_request_id(client):
    """Are two requests told apart by their ids?"""
    ids = {client.get("/login").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("incoming,kept", [
    ("proxy-id.123_ABC", True),
    ("x" * 64, True),
    ("x" * 65, False),
    ("<script>", False),
    ("a b", False),
    ("", False),
])
def test_a_well_formed_proxy_request_id_is_kept(client, incoming, kept):
    """Is a proxy's well-formed X-Request-Id reused (so logs join up) and any other replaced?"""
    response = client.get("/login", headers={"X-Request-Id": incoming})
    assert (response.headers["X-Request-Id"] == incoming) is kept
    assert REQUEST_ID.match(response.headers["X-Request-Id"])


@pytest.mark.parametrize("base_url,hsts", [("https://localhost", True),
                                           ("http://localhost", False)])
def test_hsts_only_over_https(app, base_url, hsts):
    """Is Strict-Transport-Security sent over HTTPS, for at least a year, and never over HTTP?"""
    response = app.test_client().get("/login", base_url=base_url)
    header = response.headers.get("Strict-Transport-Security")
    if hsts:
        max_age = int(re.search(r"max-age=(\d+)", header).group(1))
        assert max_age >= 365 * 24 * 3600
    else:
        assert header is None


def _session_set_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith(("rems_session=", "__Host-rems_session="))]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client, factory):
    """Is the session cookie hidden from scripts and kept off cross-site requests?"""
    admin = factory.user("admin")
    for response in (client.get("/login"), sign_in(client, admin.email)):
        cookie = _session_set_cookie(response)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_production_cookie_is_secure_and_debug_off(database_url):
    """Outside development, is the cookie sent over HTTPS only, with debug off?"""
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": "test-secret-key",
                      "PUBLIC_URL": "https://localhost",
                      "DATABASE_URL": database_url, "SERVER_NAME": "localhost"})
    assert app.debug is False
    response = app.test_client().get("/login", base_url="https://localhost")
    cookie = _session_set_cookie(response)
    assert cookie.startswith("__Host-rems_session=") and "Secure" in cookie
    assert "Path=/" in cookie and "Domain=" not in cookie


@pytest.mark.parametrize("environ,secure", [
    ({"SECRET_KEY": "k" * 64, "PUBLIC_URL": "https://rems.example.org"}, True),
    ({"SECRET_KEY": "k" * 64, "PUBLIC_URL": "https://rems.example.org",
      "COMPLIANCE_ENV": "production"}, True),
    ({"SECRET_KEY": "k", "COMPLIANCE_ENV": "testing"}, False),
    ({"SECRET_KEY": "k", "COMPLIANCE_ENV": "development"}, False),
])
def test_secure_cookie_unless_local(tmp_path: Path, environ, secure):
    """Does every environment but local development and testing demand HTTPS for cookies?"""
    config = load_config(tmp_path, environ=environ)
    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["DEBUG"] is False


@pytest.mark.parametrize("status,path,role,title", [
    (403, "/admin/", "patient", "You do not have access to this page"),
    (404, "/no-such-page", None, "Page not found"),
    (404, "/prescriber/patients/999999", "prescriber", "Page not found"),
    (405, "/logout", "admin", "That action is not allowed here"),
])
def test_error_pages_render_in_the_layout_with_a_reference(client, factory, status, path, role,
                                                           title):
    """Does an error page look like the site, say what happened and quote a reference id?"""
    cast = make_cast(factory)
    if role:
        sign_in(client, cast.email(role))
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert in_layout(response.text)
    assert f"<h1>{title}</h1>" in response.text
    assert _reference(response) == response.headers["X-Request-Id"]


def test_405_page_says_which_methods_are_allowed(client):
    """Does a wrong method on a page answer with an Allow header?"""
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def test_csrf_refusal_quotes_a_reference(client):
    """Does the 'form expired' page carry a request id and quote it as its reference?"""
    response = client.post("/logout")
    assert response.status_code == 400
    assert REQUEST_ID.match(response.headers["X-Request-Id"])
    assert _reference(response) == response.headers["X-Request-Id"]


@pytest.mark.parametrize("method,path,status,title", [
    ("GET", "/api/v1/no-such-thing", 404, "Not Found"),
    ("POST", "/api/v1/", 405, "Method Not Allowed"),
    ("DELETE", "/api/v1/", 405, "Method Not Allowed"),
])
def test_api_errors_are_problem_json(client, method, path, status, title):
    """Under /api/, is an error an RFC 9457 problem document rather than an HTML page?"""
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data(as_text=True))
    assert {"type", "title", "status", "detail"} <= set(body)
    assert (body["status"], body["title"]) == (status, title)
    assert body["type"].startswith("https://")
    assert body["detail"]
    assert response.headers["X-Request-Id"] in body.get("instance", "")
    if status == 405:
        assert "GET" in response.headers["Allow"]


SECRET_DETAIL = "database password is hunter2"


@pytest.mark.parametrize("path", ["/boom", "/api/v1/boom"])
def test_unexpected_error_is_a_calm_500(app, caplog, path):
    """Does a crash give a 500 page (or problem) with a reference, and no traceback?"""
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule(path, "boom", public(boom))
    with caplog.at_level(logging.ERROR, logger="compliance.web.errors"):
        response = app.test_client().get(path)
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and SECRET_DETAIL not in text
    request_id = response.headers["X-Request-Id"]
    if path.startswith("/api/"):
        assert response.mimetype == "application/problem+json"
        assert json.loads(text)["status"] == 500
    else:
        assert in_layout(text)
        assert "Something went wrong on our side" in text
        assert _reference(response) == request_id
    assert any(request_id in record.getMessage() for record in caplog.records)
