"""Can the program administrator write a new question bank version in a form (add, edit,
reorder and remove questions, copy an earlier version, preview), see each error next to its
field without losing anything, activate a draft (retiring the version in use), and never edit
a version in use or retired?"""

import html
import re

import pytest

from compliance.models import QuestionBank
from compliance.services import question_banks
from tests.conftest import post_form, sign_in

TARGET = "ipledge/can_get_pregnant"
DEFAULT = question_banks.DEFAULT_IPLEDGE_QUESTIONS


@pytest.fixture
def admin(app, factory, frozen):
    client = app.test_client()
    sign_in(client, factory.user("admin").email)
    return client


def fields(questions: list[dict], target: str = TARGET) -> dict:
    """The editor's fields for these questions, as a browser would send them."""
    data = {"target": target}
    for n, q in enumerate(questions):
        prefix = f"questions-{n}-"
        data |= {prefix + "id": q.get("id", ""), prefix + "text": q["text"],
                 prefix + "explanation": q["explanation"]}
        for i, choice in enumerate(q["choices"]):
            data |= {f"{prefix}choices-{i}-id": choice.get("id", ""),
                     f"{prefix}choices-{i}-text": choice["text"]}
            if choice.get("id") == q["answer"] or choice["text"] == q["answer"]:
                data[prefix + "answer"] = str(i)
    return data


def new_version(admin, questions=DEFAULT, action="save", **extra):
    return post_form(admin, "/admin/question-banks/new",
                     {**fields(questions), "action": action, **extra})


def texts_in_order(page: str) -> list[str]:
    return [html.unescape(t) for t in
            re.findall(r'<textarea[^>]*name="questions-\d+-text"[^>]*>\s*([^<]*)</textarea>', page)]


def question(text: str, choices=("Yes", "No"), answer="Yes", explanation="Because.") -> dict:
    return {"text": text, "choices": [{"text": c} for c in choices], "answer": answer,
            "explanation": explanation}


@pytest.mark.parametrize(("broken", "field_id", "error"), [
    ({"text": ""}, "questions-2-text-error", "This field is required."),
    ({"explanation": ""}, "questions-2-explanation-error", "This field is required."),
    ({"choices": [{"text": "Only one"}]}, "questions-2-choices-error",
     "Write at least two choices."),
    ({"answer": "nothing"}, "questions-2-choices-error",
     "Mark the right answer among the choices you wrote."),
])
def test_a_bad_question_is_refused_next_to_its_field_and_everything_is_kept(
        admin, db, broken, field_id, error):
    """Is a question without text, explanation, two choices or a right answer refused by
    that field, every other question kept as typed, nothing saved?"""
    questions = [dict(q) for q in DEFAULT]
    questions[2] = {**questions[2], **broken}
    page = new_version(admin, questions)
    assert page.status_code == 422
    shown = html.unescape(page.text)
    assert f'id="{field_id}"' in page.text
    assert error in shown.split(f'id="{field_id}"')[1][:200]
    assert all(q["text"] in shown for q in questions if q["text"])
    assert db.query(QuestionBank).count() == 0


def test_too_few_questions_are_refused_saying_how_many_are_needed(admin, db):
    page = new_version(admin, DEFAULT[:14])
    assert page.status_code == 422
    assert 'id="questions-error"' in page.text
    assert "Write at least 15 questions" in html.unescape(page.text)
    assert db.query(QuestionBank).count() == 0


def test_control_characters_inside_a_question_are_refused_by_that_field(admin, db):
    questions = [dict(q) for q in DEFAULT]
    questions[0] = {**questions[0], "explanation": "Bad\x00byte"}
    page = new_version(admin, questions)
    assert page.status_code == 422
    assert 'id="questions-0-explanation-error"' in page.text
    assert "control characters" in page.text


def test_a_bank_written_in_the_form_is_saved_with_its_answers(admin, db):
    """Are blank choices dropped, ids made for new questions and the marked answer kept?"""
    questions = [question(f"Question {n}?", ("Yes", "No", "Maybe"), answer="No")
                 for n in range(15)]
    saved = new_version(admin, questions)
    assert saved.status_code == 302
    bank = db.query(QuestionBank).one()
    first = bank.questions[0]
    assert [c["text"] for c in first["choices"]] == ["Yes", "No", "Maybe"]
    assert first["answer"] == first["choices"][1]["id"]
    assert len({q["id"] for q in bank.questions}) == 15
    assert [q["text"] for q in bank.questions] == [q["text"] for q in questions]


@pytest.mark.parametrize(("action", "order"), [
    ("add", ["A?", "B?", "C?", ""]),
    ("up-1", ["B?", "A?", "C?"]),
    ("down-1", ["A?", "C?", "B?"]),
    ("up-0", ["A?", "B?", "C?"]),
    ("down-2", ["A?", "B?", "C?"]),
    ("remove-1", ["A?", "C?"]),
    ("remove-7", ["A?", "B?", "C?"]),
    ("sideways-1", ["A?", "B?", "C?"]),
])
def test_the_buttons_add_move_and_remove_questions_without_saving(admin, db, action, order):
    """Does each button come back with the questions rearranged, answers and typing kept,
    and nothing saved?"""
    page = new_version(admin, [question("A?"), question("B?", answer="No"), question("C?")],
                       action=action)
    assert page.status_code == 200
    assert texts_in_order(page.text) == order
    position = order.index("B?") if "B?" in order else None
    if position is not None:
        radios = re.findall(rf'<input[^>]*name="questions-{position}-answer"[^>]*>', page.text)
        assert ["checked" in radio for radio in radios] == [False, True, False, False]
    assert db.query(QuestionBank).count() == 0


def test_removing_the_last_question_leaves_a_blank_one(admin):
    page = new_version(admin, [question("A?")], action="remove-0")
    assert texts_in_order(page.text) == [""]


def test_preview_shows_what_a_patient_sees_and_saves_nothing(admin, db):
    page = new_version(admin, DEFAULT, action="preview")
    assert page.status_code == 200
    preview = html.unescape(page.text).split("Preview: what a patient sees")[1]
    assert DEFAULT[0]["text"] in preview
    assert DEFAULT[0]["choices"][0]["text"] in preview
    assert "After a wrong answer: " + DEFAULT[0]["explanation"] in preview
    assert db.query(QuestionBank).count() == 0
    assert new_version(admin, DEFAULT).status_code == 302


def test_a_version_is_copied_into_a_new_draft_with_the_same_question_ids(admin, db):
    """Does "Copy" open the editor filled with that version, and does saving it keep the
    ids, so that last month's questions stay recognised across versions?"""
    new_version(admin)
    first = db.query(QuestionBank).one()
    assert f'href="/admin/question-banks/new?copy={first.id}"' in \
        admin.get("/admin/question-banks/").text
    editor = admin.get(f"/admin/question-banks/new?copy={first.id}")
    assert editor.status_code == 200
    shown = html.unescape(editor.text)
    assert all(q["text"] in shown for q in DEFAULT)
    assert f'value="{TARGET}" selected' in editor.text or \
        re.search(rf'selected[^>]*value="{TARGET}"', editor.text)
    copied = post_form(admin, "/admin/question-banks/new",
                       {**fields(first.questions), "action": "save"})
    assert copied.status_code == 302
    second = db.query(QuestionBank).order_by(QuestionBank.version.desc()).first()
    assert second.version == 2
    assert second.questions == first.questions


def test_copying_a_version_that_does_not_exist_is_not_found(admin):
    assert admin.get("/admin/question-banks/new?copy=999").status_code == 404


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
