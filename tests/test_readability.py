"""Does every text a patient reads stay at or below US grade 8 (Flesch-Kincaid, computed by
`textstat`)? The month's questions and explanations, every patient page at each stage of a
course ("what to do now", the month, the calendar, the history), the calendar file's
descriptions and every email a patient gets (invitation, password reset, reminders). The
same texts, and every email of the stage to anyone, write their dates in words.

A readability formula measures sentences: a heading, a label or a date alone is not scored,
everything that ends like a sentence is. A failure lists each text with its grade, so the
fix is a shorter sentence or a plainer word. The program's own words stay ("prescriber",
"pregnancy test"): they are the ones the patient meets on every form and package.
"""

import email
import html
import re
from email import policy
from pathlib import Path

import freezegun
import pytest
import textstat
from icalendar import Calendar

from compliance.services import (
    courses,
    invitations,
    monthly,
    outbox,
    question_banks,
    reminders,
    rma,
)
from compliance.services.course_view import view_course
from tests import conftest, test_patient_pages
from tests.course_helpers import (
    METHODS,
    at,
    build_world,
    certified_pharmacy,
    local,
    qualify,
)
from tests.pharmacy_helpers import issue, signed_in
from tests.test_monthly_services import RIGHT
from tests.test_pages_across_course import ISO_DATE, STAGES, build, ids_now, role_pages
from tests.test_patient_pages import (
    asked,
    confirm_methods,
    patient_browser,
    post_form,
    wrong_choice,
)

GRADE_LIMIT = 8.0
# Block-level tags end a text; inline ones (a, strong, span, time...) run inside it.
BLOCK_TAG = re.compile(r"</?(?:p|li|dd|dt|td|th|h[1-6]|label|legend|div|section|article|ul|"
                       r"ol|tr|table|form|fieldset|details|summary|br|option|select|button|"
                       r"textarea|header|footer|nav|figure|figcaption)\b[^>]*>", re.I)
SENTENCE_END = re.compile(r"[.!?][\"')]*$")
prescriber = test_patient_pages.prescriber  # the fixture: a certified prescriber and a bank
# The record export shows what people typed (a prescriber's category reason) as stored: its
# own words are the page's headings, not prose to score.
RAW_RECORD = "/patient/record"


def grade(text: str) -> float:
    return textstat.flesch_kincaid_grade(text)


def too_hard(texts: list[str]) -> list[str]:
    """Every text above the limit, with its grade."""
    return [f"grade {grade(text):.1f}: {text}" for text in dict.fromkeys(texts)
            if grade(text) > GRADE_LIMIT]


def assert_plain(texts: list[str], where: str = "") -> None:
    hard = too_hard(texts)
    assert not hard, "\n".join([f"{len(hard)} texts above grade {GRADE_LIMIT:g} {where}", *hard])


def sentences(page: str) -> list[str]:
    """The prose of a page's <main>: each block of text that ends like a sentence."""
    main = re.search(r"<main\b.*?</main>", page, re.S)
    body = re.sub(r"<(script|style)\b.*?</\1>", "", main.group(0) if main else page, flags=re.S)
    lines = html.unescape(re.sub(r"<[^>]+>", "", BLOCK_TAG.sub("\n", body))).split("\n")
    return [text for text in (" ".join(line.split()) for line in lines)
            if SENTENCE_END.search(text)]


def plain_body(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mail_sentences(message: email.message.EmailMessage) -> list[str]:
    """The plain-text body's sentences: one per paragraph, links left out."""
    body = plain_body(message)
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", body))
    return [p for p in paragraphs if SENTENCE_END.search(p) and "://" not in p]


def test_the_formula_tells_plain_from_hard():
    """The check can fail: a plain sentence passes, a clinical one does not."""
    assert too_hard(["Take your pregnancy test by Dec 8."]) == []
    assert too_hard(["Concomitant administration of hormonal contraceptives necessitates "
                     "documentation of two complementary methodologies."])


def test_question_bank_texts_read_plainly():
    """Each question of the default bank, its choices and its explanation."""
    texts = []
    for question in question_banks.DEFAULT_IPLEDGE_QUESTIONS:
        texts += [question["text"], question["explanation"]]
        texts += [c["text"] for c in question["choices"] if SENTENCE_END.search(c["text"])]
    assert len(texts) >= 30
    assert_plain(texts)


@pytest.fixture(params=STAGES, ids=[stage.name for stage in STAGES])
def staged(request, app, db, factory):
    with freezegun.freeze_time(at(0)) as clock:
        yield request.param, build(app, db, factory, clock, request.param)


def test_every_patient_text_at_each_stage_reads_plainly(app, client, db, staged):
    """At this stage: every patient page, the calendar file, and every email the patient
    has waiting (the invitation, a password reset, the reminders due today)."""
    stage, cast = staged
    world = cast.world
    texts: list[str] = []
    signed_in(client, db, world.patient_user)
    for path in role_pages(app, "patient", ids_now(db, cast)):
        if path.startswith(RAW_RECORD):
            continue
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        if response.mimetype == "text/calendar":
            texts += [str(event.get("description")) for event in
                      Calendar.from_ical(response.data).walk("VEVENT")]
        elif response.mimetype == "text/html":
            texts += sentences(response.text)
    now = at(stage.read_on)
    with app.test_request_context():
        view = view_course(db, world.course, now)
        texts += [reminder.sentence for reminder in reminders.for_patient(view)]
        invitations.request_reset(db, email=world.patient_user.email, now=now)
        reminders.send_due(db, now)
        outbox.deliver_due(db, now=lambda: now)
    mails = [email.message_from_bytes(path.read_bytes(), policy=policy.default)
             for path in Path(app.config["MAIL_FOLDER"]).glob("*.eml")]
    in_iso = [mail["Subject"] for mail in mails
              if ISO_DATE.search(mail["Subject"] + plain_body(mail))]
    assert not in_iso, f"emails with a date written in ISO form: {in_iso}"
    mine = [mail for mail in mails if mail["To"] == world.patient_user.email]
    assert mine, "the password reset at least"
    for mail in mine:
        texts += mail_sentences(mail)
    assert len(texts) >= 10, texts
    assert not [text for text in texts if ISO_DATE.search(text)], "dates are read in words"
    assert_plain(texts, f"at {stage.name}")


def test_the_month_page_after_wrong_answers_and_a_mismatch_reads_plainly(
        app, db, prescriber):
    """The explanations as the page shows them after every answer was wrong, the three-tries
    notice, and the message when the birth control chosen does not match."""
    browser, course = patient_browser(app, db, prescriber)
    browser.get("/patient/month")
    questions = asked(app, db, course)
    texts = []
    for _ in range(3):
        wrong = post_form(browser, "/patient/month/answers",
                          {q["id"]: wrong_choice(q) for q in questions},
                          token_from="/patient/month")
        assert wrong.status_code == 422
        texts += sentences(wrong.text)
    texts += sentences(browser.get("/patient/month").text)
    browser, _ = patient_browser(app, db, prescriber, email="sam@example.com")
    post_form(browser, "/patient/month/answers", RIGHT, token_from="/patient/month")
    mismatch = confirm_methods(browser, ["intrauterine_device", "implant"])
    assert mismatch.status_code == 422
    texts += sentences(mismatch.text)
    assert any("does not match" in text for text in texts)
    assert_plain(texts)


def test_every_patient_reminder_reads_plainly(app, db, factory):
    """Each kind of patient reminder, read on every day of a course: the first month's open
    questions and closing window, the next test during treatment, the test after it."""
    found: dict[str, set[str]] = {}

    def read_days(first: int, last: int) -> None:
        for day in range(first, last + 1):
            clock.move_to(at(day))
            for reminder in reminders.for_patient(view_course(db, world.course, at(day))):
                found.setdefault(reminder.kind, set()).add(reminder.sentence)

    with freezegun.freeze_time(at(0)) as clock, app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
        site = certified_pharmacy(factory)
        monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                              password=conftest.PASSWORD, now=at(20))
        read_days(20, 26)
        monthly.answer_quiz(db, course=world.course, now=at(26),
                            answers={q["id"]: q["answer"] for q in world.bank.questions})
        monthly.attest(db, course=world.course, patient_user=world.patient_user,
                       methods=list(METHODS), password=conftest.PASSWORD, now=at(26))
        number = issue(app, db, world, site, day=26).rma_number
        rma.record_dispense(db, pharmacy=site, now=at(26), data={
            "rma_number": number, "quantity": 30, "days_supply": 30,
            "dispensed_on": local(26), "medication_guide_given": True})
        read_days(27, 50)
        courses.end_treatment(db, course=world.course, last_dose_on=local(50),
                              today=local(50), now=at(50))
        read_days(50, 90)
    assert set(found) == {kind.name for kind in reminders.kinds_for("patient")}, found.keys()
    assert_plain([sentence for sentences_ in found.values() for sentence in sentences_])
