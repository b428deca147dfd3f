"""The cards a hook answers with, worded for the prescriber as the IG's cds-cards page asks.

`info` by default; `warning` only when prescribing would be unsafe: the prescriber is not
certified, or the patient is not enrolled (or not linked, which we cannot tell apart without
naming someone). Never `critical`: paperwork is no clinical emergency. Each unmet finding
speaks in its own words, grouped by who must act; the window planner card says when the
next test is due and when the dispensing window opens and closes. A step the prescriber can
defer comes as a suggestion creating a Task of the IG's SMART-launch profile.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from fhir.resources.R4B.task import Task
from flask import current_app, url_for

from compliance.services.course_view import CourseView, PlanItemKind
from workflows.dates import human
from workflows.findings import Actor

TASK_PROFILE = ("http://hl7.org/fhir/us/medication-rems/StructureDefinition/"
                "medication-rems-task-smart-launch")
SMART_CODES = "http://hl7.org/fhir/smart-app-launch/CodeSystem/smart-codes"
SUMMARY_LIMIT = 140
WHO = {Actor.PRESCRIBER: "For you", Actor.PATIENT: "For the patient",
       Actor.PHARMACY: "For the pharmacy", Actor.PROGRAM: "For the program"}


@dataclass
class Card:
    """One card; `uuid` is recorded so feedback can name only cards we issued."""

    summary: str
    indicator: str
    source: str
    detail: str = ""
    links: list[dict] = field(default_factory=list)
    suggestions: list[dict] = field(default_factory=list)
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_json(self) -> dict:
        summary = (self.summary if len(self.summary) < SUMMARY_LIMIT
                   else self.summary[:SUMMARY_LIMIT - 2] + "…")
        card = {"uuid": self.uuid, "summary": summary, "indicator": self.indicator,
                "source": {"label": self.source, "url": current_app.config["PUBLIC_URL"]}}
        if self.detail:
            card["detail"] = self.detail
        if self.links:
            card["links"] = self.links
        if self.suggestions:
            card["suggestions"] = self.suggestions
        return card


def public_url(endpoint: str, **values) -> str:
    """An absolute URL on PUBLIC_URL, never on the Host header the EHR sent."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def not_certified(program_name: str) -> Card:
    return Card(f"Complete your {program_name} prescriber certification before prescribing",
                "warning", program_name,
                "Our records hold no current certification for the NPI of this "
                "practitioner. Until it is current no RMA can be issued for your patients.",
                links=[_link("Sign in to the REMS service", public_url("auth.login"))])


def enroll_or_link(program_name: str) -> Card:
    """The one answer when no single patient of this prescriber matches: it names no one."""
    return Card(f"Enroll this patient in {program_name}, or link the EHR's patient ID",
                "warning", program_name,
                "No patient of yours in the REMS service matches this record. If the patient "
                "is enrolled, open their page in the REMS service and record this EHR's "
                "patient identifier there once; otherwise enroll them first.",
                links=[_link("Open your patients in the REMS service",
                             public_url("prescriber.home"))])


def course_cards(view: CourseView, *, patient_id: int, ehr_patient: str | None,
                 practitioner: str | None, medication_request: str | None,
                 now: datetime) -> list[Card]:
    """What the course's decision and plan tell the prescriber now; empty when nothing."""
    name = view.program.name
    page = public_url("prescriber.patient", patient_id=patient_id)
    cards = []
    # No pharmacy is known when an order is signed: what only a pharmacy can do (its
    # certification, refill timing) is not the prescriber's step; the planner dates it.
    unmet = tuple(f for f in view.decision.unmet if f.actor is not Actor.PHARMACY)
    if unmet:
        cards.append(_requirements(name, unmet, page, ehr_patient, practitioner,
                                   medication_request, now))
    planner = _planner(view, name, page)
    if planner is not None:
        cards.append(planner)
    return cards


def _requirements(name, unmet, page, ehr_patient, practitioner, medication_request,
                  now) -> Card:
    mine = sum(1 for f in unmet if f.actor is Actor.PRESCRIBER)
    count = len(unmet)
    summary = (f"{count} {name} step{'s' if count > 1 else ''} before the next fill"
               + (f", {mine} for you" if mine else ""))
    groups = []
    for actor, heading in WHO.items():
        lines = [f"- {f.message}" for f in unmet if f.actor is actor]
        if lines:
            groups.append(f"**{heading}**\n\n" + "\n".join(lines))
    other = [f"- {f.message}" for f in unmet if f.actor is None]
    if other:
        groups.append("**Also**\n\n" + "\n".join(other))
    task = smart_launch_task(page, ehr_patient=ehr_patient, practitioner=practitioner,
                             medication_request=medication_request, now=now)
    suggestion = {"label": "Add the REMS steps to your work queue", "uuid": str(uuid.uuid4()),
                  "actions": [{"type": "create",
                               "description": f"Open the patient's {name} page later",
                               "resource": task}]}
    return Card(summary, "info", name, "\n\n".join(groups),
                links=[_link("Open the patient's REMS page", page)], suggestions=[suggestion])


def _planner(view: CourseView, name: str, page: str) -> Card | None:
    """Next test due, window opening and closing, and the DNDPA, from the same plan the
    patient page shows."""
    window = view.plan.get(PlanItemKind.DISPENSING_WINDOW)
    test = view.plan.get(PlanItemKind.PREGNANCY_TEST)
    refill = view.plan.get(PlanItemKind.REFILL)
    lines = []
    if test is not None and test.ends_on is not None:
        lines.append(f"- Next pregnancy test due by {human(test.ends_on)}"
                     + (f" (from {human(test.starts_on)})" if test.starts_on else "") + ".")
    if window is not None:
        lines.append(f"- Dispensing window opens {human(window.starts_on)} and closes "
                     f"{human(window.ends_on)}; do not dispense after {human(window.ends_on)}.")
    elif refill is not None:
        lines.append(f"- The next fill can be authorized from {human(refill.starts_on)}.")
    if not lines:
        return None
    if window is not None:
        summary = f"{name}: fill by {human(window.ends_on)}, the do-not-dispense-after date"
    elif test is not None and test.ends_on is not None:
        summary = f"{name}: next pregnancy test due by {human(test.ends_on)}"
    else:
        summary = f"{name}: next fill from {human(refill.starts_on)}"
    return Card(summary, "info", name, "\n".join(lines),
                links=[_link("See the patient's plan", page)])


def smart_launch_task(page: str, *, ehr_patient: str | None, practitioner: str | None,
                      medication_request: str | None, now: datetime) -> dict:
    """A Task of the IG's medication-rems-task-smart-launch profile, validated."""
    task = {"resourceType": "Task", "id": str(uuid.uuid4()),
            "meta": {"profile": [TASK_PROFILE]},
            "status": "requested", "intent": "proposal",
            "code": {"coding": [{"system": SMART_CODES, "code": "launch-app-ehr",
                                 "display": "Launch application using the SMART EHR launch"}]},
            "description": "Complete the REMS steps on the patient's page",
            "authoredOn": now.isoformat(),
            "input": [{"type": {"coding": [{"system": SMART_CODES,
                                            "code": "smartonfhir-application",
                                            "display": "SMART on FHIR application URL."}]},
                       "valueUrl": page}]}
    if ehr_patient:
        task["for"] = {"reference": ehr_patient}
    if practitioner:
        task["owner"] = {"reference": practitioner}
    if medication_request:
        task["reasonReference"] = {"reference": medication_request}
    return Task.model_validate(task).model_dump(mode="json", exclude_none=True)


def _link(label: str, url: str) -> dict:
    return {"label": label, "url": url, "type": "absolute"}
