"""What does a patient see and do in the browser: sign the consent, read what to do now with
dates in Eastern time, answer the month's questions, confirm their birth control, read their
history, and never anything of another patient?"""

import html
import re

import pytest

from compliance.models import Course, User
from compliance.services import monthly
from tests.conftest import MONDAY_NOON, PASSWORD, post_form, sign_in
from tests.test_monthly_services import RIGHT, TWO_METHODS, bank, walk


@pytest.fixture
def prescriber(app, db, factory, frozen):
    """A certified prescriber and the active question bank (no context stays pushed: the
    test client's requests must bring their own sessions)."""
    with app.app_context():
        bank(db)
    return factory.prescriber()


def patient_browser(app, db, prescriber, **steps):
    """A signed-in browser for a patient walked through `walk(**steps)`, and the course."""
    with app.app_context():
        _, user, course = walk(db, prescriber, **steps)
    browser = app.test_client()
    sign_in(browser, user.email)
    return browser, course


def text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


def test_signing_the_enrollment_shows_who_signed_when_and_what_it_means(app, db, prescriber):
    """Is "Sign your enrollment" on home, and once signed, shown with name, time, meaning?"""
    browser, _ = patient_browser(app, db, prescriber, signed=False, tests=False)
    assert "Sign your enrollment" in text(browser.get("/patient/"))
    page = post_form(browser, "/patient/enrollment", {"understand": "y", "password": PASSWORD},
                     follow_redirects=True)
    seen = text(page)
    assert "Your enrollment is signed." in seen
    assert "Casey Morgan" in seen and "Nov 23, 2026 at 12:00 pm Eastern" in seen
    assert "I understand the risks of this medicine" in seen
    home = text(browser.get("/patient/"))
    assert "Signed by Casey Morgan on Nov 23, 2026 at 12:00 pm Eastern" in home
    assert "Sign your enrollment" not in home


@pytest.mark.parametrize(("data", "error"), [
    ({"understand": "y", "password": "not my password"}, "The password is not right"),
    ({"password": PASSWORD}, "Tick the box to say you understand"),
])
def test_an_unfinished_enrollment_says_what_is_missing(app, db, prescriber, data, error):
    """Is a wrong password or an unticked box refused next to its field, nothing signed?"""
    browser, course = patient_browser(app, db, prescriber, signed=False, tests=False)
    page = post_form(browser, "/patient/enrollment", data)
    assert page.status_code == 422
    assert error in text(page)
    db.expire_all()
    assert db.get(Course, course.id).enrollment_signature_id is None


def test_home_says_when_the_prescriber_has_not_confirmed(app, db, prescriber):
    """Before the prescriber's confirmation, do home and the month page say so plainly?"""
    browser, _ = patient_browser(app, db, prescriber, confirmed=False)
    assert "Waiting for your prescriber to confirm this month" in text(browser.get("/patient/"))
    month = text(browser.get("/patient/month"))
    assert "Your prescriber has not confirmed this month yet" in month
    assert "Check my answers" not in month


def test_home_gives_the_deadlines_in_eastern_time(app, db, prescriber):
    """After confirmation, does home say to answer by the window's last day, 11:59 pm Eastern?"""
    browser, _ = patient_browser(app, db, prescriber)
    home = text(browser.get("/patient/"))
    assert "Answer this month's questions by Nov 29" in home
    assert "Your pharmacy must fill by Nov 29, 11:59 pm Eastern" in home
    assert 'href="/patient/calendar"' in browser.get("/patient/").text


def answers_form(**overrides) -> dict:
    return {**RIGHT, **overrides}


def asked(app, db, course) -> list[dict]:
    """This month's drawn questions, with their answers (as the bank holds them)."""
    db.expire_all()
    with app.app_context():
        return monthly.month_questions(db, course=course, now=MONDAY_NOON)


def wrong_choice(question: dict) -> str:
    return next(c["id"] for c in question["choices"] if c["id"] != question["answer"])


def test_a_wrong_answer_explains_why_and_allows_another_try(app, db, prescriber):
    """Does a wrong try show the explanation, keep the questions, and let the patient retry?"""
    browser, course = patient_browser(app, db, prescriber)
    browser.get("/patient/month")
    first = asked(app, db, course)[0]
    page = post_form(browser, "/patient/month/answers",
                     answers_form(**{first["id"]: wrong_choice(first)}),
                     token_from="/patient/month")
    assert page.status_code == 422
    seen = text(page)
    assert "1 answer is not right" in seen
    assert html.unescape(first["explanation"]) in seen
    assert "Check my answers" in seen
    again = post_form(browser, "/patient/month/answers", answers_form(),
                      token_from="/patient/month", follow_redirects=True)
    assert "All your answers are right" in text(again)
    assert "Step 2 of 2" in text(again)


def test_a_skipped_question_is_marked_next_to_it(app, db, prescriber):
    """Is an unanswered question refused on the page, counting no try?"""
    browser, course = patient_browser(app, db, prescriber)
    browser.get("/patient/month")
    skipped = asked(app, db, course)[0]["id"]
    answers = {k: v for k, v in RIGHT.items() if k != skipped}
    page = post_form(browser, "/patient/month/answers", answers, token_from="/patient/month")
    assert page.status_code == 422
    assert "Choose an answer." in text(page)
    db.expire_all()
    assert db.get(Course, course.id).next_action != "QUIZ_FAILED"


def test_after_three_wrong_tries_the_patient_talks_to_the_prescriber(app, db, prescriber):
    """After three failed tries, are the questions gone with a plain "talk to your
    prescriber", until the prescriber records on the patient's page that they went over
    the program?"""
    browser, course = patient_browser(app, db, prescriber)
    browser.get("/patient/month")
    first = asked(app, db, course)[0]
    for _ in range(3):
        page = post_form(browser, "/patient/month/answers",
                         answers_form(**{first["id"]: wrong_choice(first)}),
                         token_from="/patient/month")
    seen = text(page)
    assert html.unescape(first["explanation"]) in seen
    assert "Please talk to your prescriber" in seen and "Check my answers" not in seen
    db.expire_all()
    assert db.get(Course, course.id).next_action == "QUIZ_FAILED"
    refused = post_form(browser, "/patient/month/answers", answers_form(),
                        token_from="/patient/", follow_redirects=True)
    assert "Please talk to your prescriber" in text(refused)

    doctor = app.test_client()
    sign_in(doctor, db.get(User, prescriber.user_id).email, PASSWORD)
    chart = f"/prescriber/patients/{course.patient_id}"
    assert "cannot try again until you go over the program" in text(doctor.get(chart))
    done = post_form(doctor, f"{chart}/reeducation", {"reeducation-note": "Two methods."},
                     token_from=chart, follow_redirects=True)
    assert "who can answer this month's questions again" in text(done)
    assert "Check my answers" in text(browser.get("/patient/month"))


def test_the_questions_come_shuffled_with_choice_ids(app, db, prescriber):
    """Are the questions shown with choice ids as values, in varying orders?"""
    browser, course = patient_browser(app, db, prescriber)
    orders = set()
    for _ in range(8):
        page = browser.get("/patient/month").text
        orders.add(tuple(re.findall(r"<legend>\d+\. ([^<]+)</legend>", page)))
    assert len(orders) > 1
    assert all(f'value="{q["answer"]}"' in page for q in asked(app, db, course))


def confirm_methods(browser, methods, password=PASSWORD):
    return post_form(browser, "/patient/month/attestation",
                     {"methods": methods, "password": password}, token_from="/patient/month")


def test_a_methods_mismatch_is_refused_with_what_differs(app, db, prescriber):
    """Does choosing other methods than the prescriber's say what differs, signing nothing?"""
    browser, _ = patient_browser(app, db, prescriber)
    post_form(browser, "/patient/month/answers", RIGHT, token_from="/patient/month")
    page = confirm_methods(browser, ["intrauterine_device", "implant"])
    assert page.status_code == 422
    seen = text(page)
    assert "You chose Implant, which does not match what your prescriber entered." in seen
    assert "You left out a method your prescriber entered." in seen
    [error] = re.findall(r'<p class="field-error" id="methods-error">(.*?)</p>', page.text)
    assert "condom" not in error.lower()
    assert "Step 2 of 2" in seen


def test_the_signed_month_shows_on_the_month_page_and_in_history(app, db, prescriber):
    """Once attested, do the month page and history show the signature time and methods?"""
    browser, _ = patient_browser(app, db, prescriber)
    post_form(browser, "/patient/month/answers", RIGHT, token_from="/patient/month")
    done = confirm_methods(browser, TWO_METHODS)
    assert done.status_code == 302
    month = text(browser.get("/patient/month"))
    assert "on Nov 23, 2026 at 12:00 pm Eastern. Nothing more to do this month" in month
    history = text(browser.get("/patient/history"))
    assert "Month 1: signed by Casey Morgan on Nov 23, 2026 at 12:00 pm Eastern" in history
    assert "Intrauterine device, Male latex condom" in history
    assert "November 23, 2026 Confirmation Negative Laboratory" in history
    assert "No fills yet." in history


def test_a_patient_sees_only_their_own_history(app, db, prescriber):
    """Does another patient's history show none of this patient's tests or signatures?"""
    patient_browser(app, db, prescriber)
    other, _ = patient_browser(app, db, prescriber, email="other@example.com", tests=False)
    history = text(other.get("/patient/history"))
    assert "No tests yet." in history and "You have not confirmed a month yet." in history
    assert "Month 1" not in history


@pytest.mark.parametrize("url", ["/patient/enrollment", "/patient/month", "/patient/history",
                                 "/patient/calendar.ics"])
def test_other_roles_cannot_open_patient_pages(app, factory, prescriber, url):
    """Does a prescriber get 403 on every patient page?"""
    browser = app.test_client()
    user = factory.user("prescriber", email="another.doctor@example.com")
    sign_in(browser, user.email)
    assert browser.get(url).status_code == 403


def test_a_patient_who_cannot_get_pregnant_has_nothing_monthly(app, db, prescriber):
    """Is the month page plain for a patient with no monthly questions?"""
    browser, _ = patient_browser(app, db, prescriber, category="cannot_get_pregnant")
    assert "nothing to answer each month" in text(browser.get("/patient/month"))
    assert "Answer this month" not in text(browser.get("/patient/"))
