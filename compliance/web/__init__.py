"""Server-rendered pages, one blueprint per audience."""

from flask import Flask

from compliance.web import (
    account,
    admin,
    auth,
    emergency,
    errors,
    feeds,
    passkeys,
    patient,
    pharmacist,
    prescriber,
    question_banks,
    two_step,
)
from compliance.web.navigation import inject_navigation
from compliance.web.pages import record_value, words


def init_app(app: Flask) -> None:
    for blueprint in (auth.bp, two_step.bp, passkeys.bp, account.bp, admin.bp, prescriber.bp,
                      pharmacist.bp, patient.bp, question_banks.bp, feeds.bp, emergency.bp):
        app.register_blueprint(blueprint)
    app.context_processor(inject_navigation)
    app.add_template_filter(words)
    app.add_template_filter(record_value)
    errors.init_app(app)
