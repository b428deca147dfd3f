"""Does the served entry point build the production app from the environment alone?"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_entry_point_serves_the_app_configured_by_the_environment(tmp_path):
    """In a process that imports `wsgi` as a gunicorn worker does, is `app` the service,
    configured for production from the environment (its database, its secret)?"""
    env = os.environ | {"COMPLIANCE_ENV": "production", "SECRET_KEY": "k" * 64, "PUBLIC_URL": "https://rems.example.org",
                        "DATABASE_URL": f"sqlite:///{tmp_path}/app.db"}
    probe = ("import wsgi; c = wsgi.app.config; "
             "print(wsgi.app.name, c['ENV_NAME'], c['DATABASE_URL'], c['SECRET_KEY'] == 'k' * 64)")
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    assert answer.stdout.split() == ["compliance", "production",
                                     f"sqlite:///{tmp_path}/app.db", "True"]
