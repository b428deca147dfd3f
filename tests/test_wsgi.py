"""Does the served entry point leave what the app built at start out of the collector's
passes?"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_entry_point_freezes_what_the_app_built_at_start(tmp_path):
    """In a process that imports `wsgi` as a gunicorn worker does, are the start-up objects
    frozen, so that a full collection walks only what requests left behind?"""
    env = os.environ | {"COMPLIANCE_ENV": "production", "SECRET_KEY": "k" * 64,
                        "DATABASE_URL": f"sqlite:///{tmp_path}/app.db"}
    probe = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    frozen, tracked = map(int, answer.stdout.split())
    assert frozen > 10_000
    assert tracked < frozen / 10
