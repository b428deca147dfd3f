"""Can the program administrator write a new question bank version, see errors next to the
JSON without losing it, activate a draft (retiring the version in use), and never edit a
version in use or retired?"""

import html
import json

import pytest

from compliance.models import QuestionBank
from compliance.services import question_banks
from tests.conftest import post_form, sign_in

QUESTIONS = json.dumps(question_banks.DEFAULT_IPLEDGE_QUESTIONS)
TARGET = "ipledge/can_get_pregnant"


@pytest.fixture
def admin(app, factory, frozen):
    client = app.test_client()
    sign_in(client, factory.user("admin").email)
    return client


def new_version(admin, questions=QUESTIONS, target=TARGET):
    return post_form(admin, "/admin/question-banks/new",
                     {"target": target, "questions": questions})


@pytest.mark.parametrize(("questions", "error"), [
    ("not json", "The questions are not valid"),
    ("[]", "a bank needs at least one question"),
    (json.dumps([{"id": "a", "text": "?", "choices": [{"id": "x", "text": "X"},
                                                     {"id": "y", "text": "Y"}],
                  "answer": "z", "explanation": "."}]), "the answer must be one of the choice"),
])
def test_bad_questions_are_refused_next_to_the_field_and_kept(admin, db, questions, error):
    """Is invalid JSON refused with the reason by the textarea, the text kept, nothing saved?"""
    page = new_version(admin, questions)
    assert page.status_code == 422
    shown = html.unescape(page.text)
    assert error in shown
    assert 'id="questions-error"' in page.text
    assert questions in shown
    assert db.query(QuestionBank).count() == 0


def test_a_new_version_is_a_draft_until_activated(admin, db):
    """Does a new version start as a draft numbered 1, then go into use when activated?"""
    saved = new_version(admin)
    assert saved.status_code == 302
    bank = db.query(QuestionBank).one()
    assert (bank.version, bank.status) == (1, "draft")
    listing = admin.get("/admin/question-banks/").text
    assert "Activate version 1" in listing
    post_form(admin, f"/admin/question-banks/{bank.id}/activate", {},
              token_from="/admin/question-banks/")
    db.refresh(bank)
    assert bank.status == "active"
    assert "Activate version 1" not in admin.get("/admin/question-banks/").text


def test_activating_a_new_version_retires_the_old_and_the_old_cannot_come_back(admin, db):
    """Is version 1 retired when version 2 is activated, and refused if activated again?"""
    for _ in range(2):
        new_version(admin)
        bank = db.query(QuestionBank).order_by(QuestionBank.id.desc()).first()
        post_form(admin, f"/admin/question-banks/{bank.id}/activate", {},
                  token_from="/admin/question-banks/")
    db.expire_all()
    first, second = db.query(QuestionBank).order_by(QuestionBank.version).all()
    assert (first.status, second.status) == ("retired", "active")
    again = post_form(admin, f"/admin/question-banks/{first.id}/activate", {},
                      token_from="/admin/question-banks/", follow_redirects=True)
    assert "only a draft can be activated" in html.unescape(again.text)
    page = admin.get(f"/admin/question-banks/{first.id}").text
    assert "can no longer be changed" in page


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/admin/question-banks/1/edit"),
    ("post", "/admin/question-banks/1/edit"),
    ("post", "/admin/question-banks/1"),
])
def test_there_is_no_way_to_edit_a_version(admin, method, url):
    """Is there no route that edits a version (404 or 405)?"""
    new_version(admin)
    assert getattr(admin, method)(url).status_code in (404, 405)


def test_the_admin_menu_links_the_question_banks(admin):
    assert 'href="/admin/question-banks/"' in admin.get("/admin/").text


@pytest.mark.parametrize("role", ["prescriber", "pharmacist", "patient"])
def test_other_roles_are_kept_out(app, factory, frozen, role):
    """Does every other role get 403 on the question banks?"""
    client = app.test_client()
    sign_in(client, factory.user(role).email)
    assert client.get("/admin/question-banks/").status_code == 403
    assert client.get("/admin/question-banks/new").status_code == 403
