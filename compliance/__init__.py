"""The compliance service: a Flask application built by `create_app`."""

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from compliance.config import load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, database, extensions, blueprints and commands.

    `test_config` overrides the environment's settings (tests pass the database URL and a
    fixed secret key).
    """
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_mapping(load_config(Path(app.instance_path), overrides=test_config))
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"],
                                x_proto=1, x_host=1)
    _init_extensions(app)
    return app


def _init_extensions(app: Flask) -> None:
    from compliance import api, cds, cli, db, fhir, mailer, ncpdp, programs, web
    from compliance.extensions import csrf, login_manager
    from compliance.security import bodies, headers, overload

    overload.allow_hashes_at_once(app.config["PASSWORD_HASHES_AT_ONCE"])
    headers.init_app(app)  # first: even a CSRF refusal carries a request id
    bodies.init_app(app)  # before CSRF and the views read a body
    db.init_app(app)
    mailer.init_app(app)
    programs.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    web.init_app(app)
    api.init_app(app)
    fhir.init_app(app)
    ncpdp.init_app(app)
    cds.init_app(app)
    cli.init_app(app)
