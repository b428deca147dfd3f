"""Does every page of every role render at each stage of a course, and do the pages a
person acts from name the next step?

Each case builds one course through the real services (days of `course_helpers`, the clock
moved to each step), freezes the clock at the day the pages are read, signs in one role and
walks every GET page of that role found in `app.url_map`, its URL filled with the course's
real ids. Any 5xx is collected with the last frame of its traceback, so one failure lists
every broken page of the role at that stage.
"""

import html
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import freezegun
import pytest
from sqlalchemy import select

from compliance.models import Pharmacy, Rma, RmaRequest, User
from compliance.services import courses, methods, monthly, rma
from tests import conftest
from tests.conftest import csrf_token
from tests.course_helpers import (
    DOB,
    METHODS,
    World,
    at,
    build_world,
    certified_pharmacy,
    complete_month,
    local,
    qualify,
    rma_ask,
)
from tests.pharmacy_helpers import issue, signed_in

ROLES = ("prescriber", "patient", "pharmacist", "admin")
SHARED = "shared"
# Whose pages each blueprint holds; a blueprint missing here fails the coverage test.
BLUEPRINT_ROLE = {"admin": "admin", "question_banks": "admin", "cds_admin": "admin",
                  "cds_links": "prescriber", "prescriber": "prescriber",
                  "patient": "patient", "pharmacist": "pharmacist", "emergency": "prescriber"}
# Every signed-in role lands on these too.
SHARED_PAGES = {"auth.index", "auth.login", "auth.change_password", "auth.forgot_password",
                "account.emails", "two_step.settings", "passkeys.index"}
# Not a role's page: API-key and EHR clients (the JSON API, FHIR, CDS Hooks), calendar apps,
# static files, links that need an emailed token, the code step between a password and a session
# (test_second_factor), and another prescriber's patient read under emergency access
# (test_emergency_access).
NOT_ROLE_PAGES = {"static", "auth.accept_invitation", "auth.reset_password", "two_step.code",
                  "two_step.enroll", "emergency.record", "emergency.record_json"}
NOT_ROLE_BLUEPRINTS = {"api", "feeds", "fhir", "cds"}
FIND = "/pharmacist/patients/find"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


# --- The course at each stage -----------------------------------------------------------

@dataclass
class Cast:
    world: World
    pharmacy: Pharmacy
    pharmacist: User
    admin: User


def screened(app, db, cast: Cast) -> None:
    """Signed, counseled, two methods for 40 days, screening test on day 1 (negative)."""
    world = cast.world
    monthly.sign_enrollment(db, course=world.course, patient_user=world.patient_user,
                            password=conftest.PASSWORD, now=at(0))
    courses.record_counseling(db, course=world.course, counseled_on=local(0), today=local(0),
                              now=at(0))
    for method in METHODS:
        methods.add_method(db, course=world.course, data={"method": method,
                                                          "started_on": local(-40)},
                           today=local(0), entered_by=world.prescriber_user.id, now=at(0))
    courses.record_test(db, course=world.course, entered_by=world.prescriber_user.id,
                        now=at(1), today=local(1),
                        data={"kind": "screening", "specimen_on": local(1),
                              "result": "negative", "setting": "office"})


def confirmed(app, db, cast: Cast) -> None:
    """`qualify`: as `screened`, then the laboratory's confirmation test on day 20."""
    qualify(db, cast.world)


def month_done(app, db, cast: Cast) -> None:
    """The first month complete on day 20: the window is open until day 26."""
    complete_month(db, cast.world, 20)


def rma_issued(app, db, cast: Cast) -> None:
    """An RMA issued on day 20 and never filled: it is past its DNDPA (day 26) by day 28."""
    issue(app, db, cast.world, cast.pharmacy, day=20)


def filled(app, db, cast: Cast) -> None:
    """An RMA issued and filled (30 days) on day 20: the course is active."""
    number = issue(app, db, cast.world, cast.pharmacy, day=20).rma_number
    rma.record_dispense(db, pharmacy=cast.pharmacy, now=at(20), data={
        "rma_number": number, "quantity": 30, "days_supply": 30,
        "dispensed_on": local(20), "medication_guide_given": True})


def positive_on_day_45(app, db, cast: Cast) -> None:
    courses.report_pregnancy(db, course=cast.world.course,
                             entered_by=cast.world.prescriber_user.id, now=at(45),
                             today=local(45),
                             data={"kind": "monthly", "specimen_on": local(45),
                                   "setting": "laboratory"})


def last_dose_on_day_45(app, db, cast: Cast) -> None:
    courses.end_treatment(db, course=cast.world.course, last_dose_on=local(45),
                          today=local(45), now=at(45))


# (the day a step happens, the step).
Step = tuple[float, Callable]
FIRST_MONTH: list[Step] = [(20, confirmed), (20, month_done)]
AFTER_FILL: list[Step] = [*FIRST_MONTH, (20, filled)]


@dataclass(frozen=True)
class Stage:
    name: str
    steps: list[Step]
    read_on: float  # the day (of `course_helpers`) the pages are read
    state: str  # the course's state then


STAGES = [
    Stage("enrolled", [], 0.1, "enrolled"),
    Stage("qualifying_screened_day_10", [(0, screened)], 10, "qualifying"),
    Stage("qualifying_confirmed_day_20", [(20, confirmed)], 20, "qualifying"),
    Stage("first_window_open_day_21", FIRST_MONTH, 21, "qualifying"),
    Stage("day_after_fill", AFTER_FILL, 21, "active"),
    Stage("day_20_after_fill", AFTER_FILL, 40, "active"),
    Stage("window_missed_day_28", [*FIRST_MONTH, (20, rma_issued)], 28, "qualifying"),
    Stage("suspended_after_positive_test", [*AFTER_FILL, (45, positive_on_day_45)], 46,
          "suspended"),
    Stage("post_treatment", [*AFTER_FILL, (45, last_dose_on_day_45)], 50, "post_treatment"),
]


def build(app, db, factory, clock, stage: Stage) -> Cast:
    """The cast on day 0, each step at its day, then the clock at `stage.read_on`."""
    with app.test_request_context():
        world = build_world(db, factory)
        site = certified_pharmacy(factory)
        lead = factory.pharmacist(site, name="Lee Lead")
        site.responsible_pharmacist_id = lead.id
        db.add(site)
        db.commit()
        cast = Cast(world, site, lead, factory.user("admin"))
    for day, step in stage.steps:
        clock.move_to(at(day))
        with app.test_request_context():
            step(app, db, cast)
    clock.move_to(at(stage.read_on))
    return cast


# --- The pages of a role ----------------------------------------------------------------

def owner(endpoint: str) -> str | None:
    """The role whose page this is, SHARED, or None when no role signs in for it."""
    blueprint = endpoint.split(".")[0]
    if endpoint in NOT_ROLE_PAGES or blueprint in NOT_ROLE_BLUEPRINTS:
        return None
    return SHARED if endpoint in SHARED_PAGES else BLUEPRINT_ROLE[blueprint]


def get_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules() if "GET" in rule.methods),
                  key=lambda rule: rule.rule)


def ids_now(db, cast: Cast) -> dict:
    """Each URL parameter of a role page, from the course's rows as they are now."""
    db.expire_all()
    world = cast.world
    latest_request = db.scalar(select(RmaRequest.id).where(
        RmaRequest.pharmacy_id == cast.pharmacy.id).order_by(RmaRequest.requested_at.desc())
        .limit(1))
    latest_rma = db.scalar(select(Rma.rma_number).where(
        Rma.course_id == world.course.id).order_by(Rma.id.desc()).limit(1))
    return {"patient_id": world.patient.id, "prescriber_id": world.course.prescriber_id,
            "pharmacy_id": cast.pharmacy.id, "bank_id": world.bank.id,
            "request_id": latest_request, "rma_number": latest_rma,
            "user_id": world.patient.user_id}


def role_pages(app, role: str, ids: dict) -> list[str]:
    """The paths of every GET page `role` can reach; a page whose id does not exist yet at
    this stage (no RMA before the first request) is left out."""
    adapter = app.url_map.bind("localhost")
    paths = []
    for rule in get_rules(app):
        if owner(rule.endpoint) not in (role, SHARED):
            continue
        values = {name: ids[name] for name in rule.arguments}
        if all(value is not None for value in values.values()):
            paths.append(adapter.build(rule.endpoint, values))
    return paths


class Recorder(logging.Handler):
    """The exceptions the app's error handler logs, to say where a 500 came from."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def take(self) -> str:
        found = [r for r in self.records if r.exc_info]
        self.records.clear()
        if not found:
            return "no exception logged"
        kind, exc, tb = found[-1].exc_info
        frames = [f for f in traceback.extract_tb(tb) if ".venv" not in f.filename]
        where = "; ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                          for f in frames[-2:])
        return f"{kind.__name__}: {exc} (at {where})"


@pytest.fixture
def recorder():
    handler = Recorder()
    errors = logging.getLogger("compliance.web.errors")
    errors.addHandler(handler)
    yield handler
    errors.removeHandler(handler)


class Walk:
    """One signed-in client's requests, with every 5xx kept for the final assertion."""

    def __init__(self, client, recorder: Recorder, label: str):
        self.client, self.recorder, self.label = client, recorder, label
        self.broken: list[str] = []
        self.seen: list[tuple[str, str, int]] = []
        self.texts: list[tuple[str, str, int, str]] = []  # what each HTML answer reads

    def iso_dates(self) -> list[tuple[str, str, int, list[str]]]:
        """The answers whose readable text holds a date written 2026-12-08: people read
        dates in words (field values, which a date picker shows its own way, do not count)."""
        return [(method, path, status, found) for method, path, status, text in self.texts
                if (found := ISO_DATE.findall(text))]

    def request(self, method: str, path: str, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        self.seen.append((method, path, response.status_code))
        if response.mimetype == "text/html":
            self.texts.append((method, path, response.status_code, text_of(response.text)))
        if response.status_code >= 500:
            self.broken.append(f"{self.label}: {method} {path} -> {response.status_code}: "
                               f"{self.recorder.take()}")
        return response

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict, token_from: str):
        token = csrf_token(self.client, token_from)
        return self.request("POST", path, data={"csrf_token": token, **data})


# --- What the pages say comes next ------------------------------------------------------

def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def section(page: str, opening: str) -> str:
    """The HTML of the first element that starts with `opening`, up to its </section>."""
    match = re.search(re.escape(opening) + r".*?</section>", page, re.S)
    return match.group(0) if match else ""


def items(fragment: str) -> list[str]:
    return [text_of(li) for li in re.findall(r"<li\b.*?</li>", fragment, re.S)]


def patient_home_next_step(page: str) -> str:
    """The patient's "What to do now" items."""
    return " | ".join(item for item in items(section(page, '<section class="card todo"')) if item)


def chart_next_step(page: str) -> str:
    """The prescriber's "Next action: <label>" and the message under it."""
    card = section(page, '<section class="card next-step"')
    heading = re.search(r'<h2 id="next-heading">Next action:(.*?)</h2>\s*<p>(.*?)</p>', card,
                        re.S)
    if not heading or not text_of(heading.group(1)) or not text_of(heading.group(2)):
        return ""
    return f"{text_of(heading.group(1))}: {text_of(heading.group(2))}"


def counter_next_step(page: str) -> str:
    """What blocks the next fill, each reason with who must act, or that nothing does."""
    card = section(page, '<section class="card" aria-labelledby="ready-heading"')
    if 'id="ready"' in card:
        return text_of(card)
    reasons = re.search(r'<ul class="findings reasons" id="blocking">.*?</ul>', card, re.S)
    listed = items(reasons.group(0)) if reasons else []
    return " | ".join(listed) if listed and all("Who must act:" in r for r in listed) else ""


def decision_next_step(page: str) -> str:
    """An issued RMA's number and fill-by line, or every reason of the refusal."""
    if 'id="rma-number"' in page:
        return text_of(section(page, '<section class="card decision decision-authorized"'))
    reasons = re.search(r'<ul class="findings reasons" id="reasons">.*?</ul>', page, re.S)
    return " | ".join(items(reasons.group(0))) if reasons else ""


# --- The tests --------------------------------------------------------------------------

def test_every_get_page_belongs_to_a_role_and_its_ids_are_known(app):
    """Is every GET route either a role's page whose URL parameters the walk can fill, or
    on purpose not a role page? (A new blueprint or parameter must be added here.)"""
    known = {"patient_id", "prescriber_id", "pharmacy_id", "bank_id", "request_id",
             "rma_number", "user_id"}
    for rule in get_rules(app):
        who = owner(rule.endpoint)  # KeyError for a blueprint of no known role
        if who is not None:
            assert rule.arguments <= known, (rule.rule, rule.arguments - known)
    walked = {role: role_pages(app, role, dict.fromkeys(known, 1)) for role in ROLES}
    assert all(len(paths) >= 4 for paths in walked.values()), walked


@pytest.fixture(params=STAGES, ids=[stage.name for stage in STAGES])
def staged(request, app, db, factory):
    """The course at the stage, the clock frozen at the day the pages are read."""
    with freezegun.freeze_time(at(0)) as clock:
        cast = build(app, db, factory, clock, request.param)
        db.expire_all()
        assert courses.course_of(db, cast.world.patient).state == request.param.state
        yield request.param, cast


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_and_names_the_next_step(app, client, db, recorder, staged, role):
    """At this stage, does each page of the role answer without a server error, and do the
    pages the role acts from say what comes next?"""
    stage, cast = staged
    walk = Walk(signed_in(client, db, {"prescriber": cast.world.prescriber_user,
                                       "patient": cast.world.patient_user,
                                       "pharmacist": cast.pharmacist,
                                       "admin": cast.admin}[role]),
                recorder, f"{role} at {stage.name}")
    missing: list[str] = []
    key_pages = {}
    if role == "pharmacist":
        # The counter first: find the patient (a POST), ask for an RMA from that page, and
        # read the decision, so the walk below also reaches the request and any RMA.
        found = walk.post(FIND, {"patient_id": cast.world.patient.program_patient_id,
                                 "date_of_birth": DOB}, token_from=FIND)
        key_pages["pharmacist patient page (POST find)"] = (found, counter_next_step)
        asked = walk.post("/pharmacist/rma-requests",
                          {k: str(v) for k, v in rma_ask(cast.world).items()},
                          token_from=FIND)
        assert asked.status_code == 302, asked.status_code
        decision = walk.get(urlsplit(asked.headers["Location"]).path)
        key_pages["pharmacist decision page"] = (decision, decision_next_step)
    for path in role_pages(app, role, ids_now(db, cast)):
        if ("GET", path) in {(method, seen) for method, seen, _ in walk.seen}:
            continue  # the decision page, already read after the ask
        response = walk.get(path)
        if path == f"/prescriber/patients/{cast.world.patient.id}":
            key_pages["prescriber patient chart"] = (response, chart_next_step)
        if path == "/patient/":
            key_pages["patient home"] = (response, patient_home_next_step)
    for name, (response, next_step) in key_pages.items():
        if response.status_code == 200 and not next_step(response.text):
            missing.append(f"{role} at {stage.name}: {name} names no next step")
    iso = [f"{path}: {found}" for method, path, status, found in walk.iso_dates()]
    assert not iso, f"{role} at {stage.name}: dates a person reads in ISO form: {iso}"
    assert not walk.broken, "\n".join(walk.broken)
    refused = [f"{method} {path} -> {status}" for method, path, status in walk.seen
               if status >= 400]
    assert not refused, f"{role} at {stage.name}: its own pages refused: {refused}"
    assert not missing, "\n".join(missing)
    assert len(key_pages) == {"admin": 0, "pharmacist": 2}.get(role, 1), key_pages.keys()
