"""The restore drill: a backup of a live database, restored elsewhere, passes `flask audit
verify` against the anchor and serves the demo (a demo login signs in)."""

import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import make_url

from compliance import create_app
from compliance.db import get_engine
from compliance.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.conftest import ON_POSTGRES, app_config, sign_in

pytestmark = pytest.mark.db


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def live(app, frozen):
    """The demo loaded and its audit log sealed, as a running service's database is."""
    assert cli(app, "demo", "load").exit_code == 0
    sealed = cli(app, "audit", "seal")
    assert sealed.exit_code == 0, sealed.output
    return app


def restored_serves_the_demo(url: str, tmp_path, anchor: str) -> None:
    restored = create_app(app_config(url, tmp_path, AUDIT_ANCHOR=anchor))
    try:
        verified = cli(restored, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert "intact" in verified.output and " 0 events sealed" not in verified.output
        _, email = DEMO_LOGINS[0]
        assert sign_in(restored.test_client(), email, DEMO_PASSWORD).status_code == 302
    finally:
        get_engine(restored).dispose()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's online backup")
def test_sqlite_online_backup_restores_and_verifies(live, tmp_path):
    copy = tmp_path / "backup.db"
    made = cli(live, "db", "backup", str(copy))
    assert made.exit_code == 0, made.output
    restored_serves_the_demo(f"sqlite:///{copy}", tmp_path / "restored",
                             live.config["AUDIT_ANCHOR"])


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump and pg_restore")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL client tools missing")
def test_postgresql_dump_restores_and_verifies(live, tmp_path, database_url):
    url = make_url(database_url)
    dump, name = tmp_path / "rems.dump", f"rems_restore_{uuid.uuid4().hex[:8]}"
    where = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
             url.username or "postgres"]
    subprocess.run(["pg_dump", *where, "--format=custom", "--file", str(dump),
                    url.database], check=True)
    subprocess.run(["createdb", *where, name], check=True)
    try:
        subprocess.run(["pg_restore", *where, "--dbname", name, "--exit-on-error",
                        str(dump)], check=True)
        restored = url.set(database=name).render_as_string(hide_password=False)
        restored_serves_the_demo(restored, tmp_path / "restored", live.config["AUDIT_ANCHOR"])
    finally:
        subprocess.run(["dropdb", *where, "--force", name], check=True)
