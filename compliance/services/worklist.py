"""The prescriber's worklist: each course's one next action, kept on the course row.

The action is what the rules core says blocks the next fill, first the prescriber's own
steps, then the patient's; when nothing blocks, the open window's closing date. It is
stored so that 10,000 patients filter and sort with one indexed query, refreshed by every
service that changes a course and by `flask maintenance refresh-worklist` (run daily, since
time alone moves windows and due dates).
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Course, PatientProfile, User
from compliance.programs import program
from compliance.services.facts import CourseRows, load_rows, open_course_batches
from workflows.decision import Decision, evaluate_authorization
from workflows.findings import Actor, ReasonCode
from workflows.machines import CourseState
from workflows.planner import PlanItemKind, plan_course
from workflows.programs import program_version_for
from workflows.rules.supply import refill_eligible_on
from workflows.rules.window import current_window

# Between fills these say "a test is needed", which the plan dates; see `_next_test`.
BETWEEN_FILLS = frozenset({ReasonCode.PREGNANCY_TEST_MISSING, ReasonCode.WINDOW_EXPIRED})


@dataclass(frozen=True)
class NextAction:
    """A stable code, who acts, a sentence, and the date it is due or becomes possible."""

    code: str
    actor: str
    message: str
    on: date | None


ACTION_LABELS = {
    "": "Nothing to do",
    "READY": "Ready for the pharmacy",
    "QUIZ_FAILED": "Questions failed 3 times",
    "POST_TREATMENT_TEST": "Post-treatment test",
    "SUSPENDED": "Positive test: report",
    "SUSPENDED_REPORTED": "Suspended, reported",
    "COMPLETED": "Course completed",
    "WITHDRAWN": "Withdrawn",
}


def next_action(rows: CourseRows, now: datetime, decided: Decision | None = None) -> NextAction:
    """The one thing that moves this course forward, in plain words.

    `decided`: the decision on a pharmacy's request just made on these facts, so it is not
    made again. Its prescriber's and patient's findings are the ones this would find, and a
    granted one's do-not-dispense-after date is the open window's last day: the RMA it
    issued changes only what the pharmacy's own checks read (the month's authorizations).
    """
    course = rows.course
    facts = cache(rows.facts)  # built once, and only by a branch that reads them
    prog = program(course.program)
    if course.state == CourseState.SUSPENDED and course.registry_reported_on is None:
        return NextAction("SUSPENDED", Actor.PRESCRIBER, "Positive pregnancy test: report it "
                          "to the pregnancy registry and counsel the patient.", None)
    if course.state == CourseState.SUSPENDED:
        return NextAction("SUSPENDED_REPORTED", Actor.PRESCRIBER, "Reported to the pregnancy "
                          f"registry on {plain_day(course.registry_reported_on)}. Treatment "
                          "stays stopped unless you resume it on a later negative test.", None)
    if course.state in (CourseState.COMPLETED, CourseState.WITHDRAWN):
        return NextAction(course.state.upper(), "", ACTION_LABELS[course.state.upper()], None)
    cycle = rows.cycle
    if (cycle is not None and not cycle.quiz_passed
            and cycle.failed_quiz_attempts >= quiz_failures_told(course.program, now)):
        return NextAction("QUIZ_FAILED", Actor.PRESCRIBER, "The patient answered this month's "
                          f"questions wrongly {cycle.failed_quiz_attempts} times: go over the "
                          "program with them, then record it on their page so they can "
                          "answer again.", None)
    today = now.astimezone(prog.zone).date()
    if course.state == CourseState.POST_TREATMENT:
        item = plan_course(facts(), prog, today).get(PlanItemKind.POST_TREATMENT_TEST)
        if item is not None:
            return NextAction("POST_TREATMENT_TEST", Actor.PRESCRIBER, item.message,
                              item.starts_on)
    decision = decided or evaluate_authorization(facts(), prog, now)
    for actor in (Actor.PRESCRIBER, Actor.PATIENT):
        for finding in decision.unmet:
            if finding.actor == actor:
                if finding.code in BETWEEN_FILLS and rows.dispenses \
                        and not _missed(facts(), prog, today):
                    return _next_test(facts(), prog, today, finding)
                return NextAction(finding.code, actor, finding.message, finding.eligible_on)
    closes = decision.do_not_dispense_after
    if closes is None:  # denied only for want of a pharmacy: the window is the plan's
        window = plan_course(facts(), prog, today).get(PlanItemKind.DISPENSING_WINDOW)
        closes = window.ends_on if window else None
    return NextAction("READY", Actor.PHARMACY, "Ready for the pharmacy" +
                      (f": the window closes {closes:%b} {closes.day}." if closes else "."),
                      closes)


def quiz_failures_told(code: str, now: datetime) -> int:
    """Wrong tries at the month's questions before the prescriber is told (a definition's
    policy number)."""
    prog = program(code)
    version = program_version_for(prog, now.astimezone(prog.zone).date())
    return version.quiz_failures_before_prescriber_told.value


def _next_test(facts, prog, today: date, finding) -> NextAction:
    """Between fills the missing test is not late: the plan says from when it is useful
    and by when the cadence wants it ("Next test from Dec 20, by Jan 1")."""
    item = plan_course(facts, prog, today).get(PlanItemKind.PREGNANCY_TEST)
    if item is None or item.starts_on is None:
        return NextAction(finding.code, Actor.PRESCRIBER, finding.message, None)
    if item.starts_on <= today:
        return NextAction(ReasonCode.PREGNANCY_TEST_MISSING, Actor.PRESCRIBER, item.message,
                          item.ends_on)
    by = f", by {plain_day(item.ends_on, today)}" if item.ends_on else ""
    return NextAction("NEXT_TEST", Actor.PRESCRIBER,
                      f"Next test from {plain_day(item.starts_on, today)}{by}.", item.starts_on)


def _missed(facts, prog, today: date) -> bool:
    """A closed window was missed only if a fill was possible while it was open; a weekly
    test's window that closed before the refill date missed nothing."""
    version = program_version_for(prog, today)
    closed = current_window(facts, version, today)
    eligible_on = refill_eligible_on(facts, version)
    return closed is not None and eligible_on is not None and closed.closes_on >= eligible_on


def refresh(db: Session, course: Course, now: datetime) -> NextAction:
    """Recompute and store the course's next action (in the caller's transaction)."""
    action = next_action(load_rows(db, [course])[0], now)
    course.next_action, course.next_action_on = action.code, action.on
    db.add(course)
    return action


# --- The worklist page and the daily refresh ------------------------------------------------

SORTS = ("date", "name")
REFRESH_BATCH = 500

# Short phrases for the worklist column; the full sentence stays on the patient page.
SHORT_LABELS = {
    "PREGNANCY_TEST_MISSING": "Enter this month's test",
    "NEXT_TEST": "Next test from {on}",
    "SCREENING_TEST_MISSING": "Enter the screening test",
    "CONFIRMATION_TOO_EARLY": "Confirmation test from {on}",
    "CONFIRMATION_TEST_TOO_OLD": "Enter a new confirmation test",
    "COUNSELING_MISSING": "Record the counseling",
    "CONTRACEPTION_INSUFFICIENT": "Enter two contraception methods",
    "CONTRACEPTION_LEAD_IN": "Methods in use long enough from {on}",
    "WINDOW_EXPIRED": "Window missed: enter a new test",
    "LOCKOUT_19_DAY": "Next test from {on} (19-day lockout)",
    "PRESCRIBER_CONFIRMATION_MISSING": "Confirm this month",
    "PRESCRIBER_NOT_CERTIFIED": "Renew your certification",
    "ENROLLMENT_NOT_SIGNED": "Waiting for the patient's enrollment signature",
    "PATIENT_ATTESTATION_MISSING": "Waiting for the patient's answers",
    "QUIZ_NOT_PASSED": "Waiting for the patient's answers",
    "CONTRACEPTION_MISMATCH": "Patient's methods differ from yours",
    "READY": "Window closes {on}",
    "POST_TREATMENT_TEST": "Post-treatment test due {on}",
    "SUSPENDED": "Positive test: report it",
    "SUSPENDED_REPORTED": "Suspended: reported to the registry",
    "COMPLETED": "Course completed",
    "WITHDRAWN": "Withdrawn",
}


def short_label(code: str, on: date | None, today: date | None = None) -> str:
    """The worklist phrase for an action code: "Window closes Dec 3"."""
    template = SHORT_LABELS.get(code)
    if template is None:
        return ACTION_LABELS.get(code) or code.replace("_", " ").capitalize()
    if "{on}" in template:
        if on is None:
            return template.split(" {on}")[0].removesuffix(" from").removesuffix(" due")
        return template.format(on=plain_day(on, today))
    return template


def plain_day(day: date, today: date | None = None) -> str:
    """ "Dec 3", with the year only when it is not this year's."""
    text = f"{day:%b} {day.day}"
    return text if today is None or day.year == today.year else f"{text}, {day.year}"


def worklist_ids(prescriber_id: int, *, action: str = "", sort: str = "date") -> Select:
    """The ids of the prescriber's courses (one per patient) in the page's order.

    Only ids are ordered, so the database sorts narrow rows and joins just one page's:
    date order reads the course (`ix_course_worklist`, or `ix_course_worklist_action` when
    filtered), name order the patient's index (prescriber, family name), where the
    course's prescriber is the patient's.
    """
    query = select(Course.id).where(Course.prescriber_id == prescriber_id)
    if action:
        query = query.where(Course.next_action == action)
    if sort == "name":
        return (query.join(PatientProfile, PatientProfile.id == Course.patient_id)
                .where(PatientProfile.prescriber_id == prescriber_id)
                .order_by(PatientProfile.family_name, PatientProfile.given_name,
                          PatientProfile.id))
    return query.order_by(Course.next_action_on.asc().nulls_first(), Course.id)


def action_counts(db: Session, prescriber_id: int) -> dict[str, int]:
    """How many of the prescriber's courses have each action code: the filter's choices and
    the page's total, from one scan of `ix_course_worklist_action`."""
    return dict(db.execute(select(Course.next_action, func.count())
                           .where(Course.prescriber_id == prescriber_id)
                           .group_by(Course.next_action)).all())


def refresh_all(db: Session, now: datetime, batch_size: int = REFRESH_BATCH) -> int:
    """Recompute the next action of every open course, `batch_size` courses per commit."""
    count = 0
    for batch in open_course_batches(db, batch_size):
        for rows in batch:
            action = next_action(rows, now)
            rows.course.next_action, rows.course.next_action_on = action.code, action.on
        db.commit()
        count += len(batch)
    return count


@dataclass(frozen=True)
class WorklistRow:
    """One line of the worklist: the patient, the course, and its action computed now."""

    patient: PatientProfile
    course: Course
    account: User
    action: NextAction
    label: str


@dataclass(frozen=True)
class WorklistPage:
    """The rows shown, how many courses match the filter, and the courses per action code."""

    rows: list[WorklistRow]
    total: int
    counts: dict[str, int]


def worklist_page(db: Session, *, prescriber_id: int, action: str, sort: str, page: int,
                  per_page: int, now: datetime) -> WorklistPage:
    """One page of the worklist with its counts; the shown rows' actions are recomputed
    live (time moves windows) with one batched load, and the read is audited."""
    counts = action_counts(db, prescriber_id)
    total = counts.get(action, 0) if action else sum(counts.values())
    ids = list(db.scalars(worklist_ids(prescriber_id, action=action, sort=sort)
                          .limit(per_page).offset((page - 1) * per_page)))
    found = {course.id: (course, account) for course, account in db.execute(
        select(Course, User).join(PatientProfile, PatientProfile.id == Course.patient_id)
        .join(User, User.id == PatientProfile.user_id).where(Course.id.in_(ids)))}
    accounts = {course_id: account for course_id, (_, account) in found.items()}
    shown = []
    for rows in load_rows(db, [found[course_id][0] for course_id in ids]):
        live = next_action(rows, now)
        today = now.astimezone(program(rows.course.program).zone).date()
        shown.append(WorklistRow(rows.patient, rows.course, accounts[rows.course.id], live,
                                 short_label(live.code, live.on, today)))
    summary = {"page": page, "shown": len(shown)}
    summary |= {"action": action} if action else {}
    summary |= {"sort": sort} if sort != "date" else {}
    audit.record(db, "patient.list_viewed", "prescriber", prescriber_id, summary=summary)
    db.commit()
    return WorklistPage(shown, total, counts)
