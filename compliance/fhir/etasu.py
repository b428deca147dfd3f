"""`$rems-etasu`: a Parameters in, the status of every requirement out.

The decision is the one the JSON API's eligibility check gives (`services.eligibility`): the
same facts, rules, lookup throttle and audit. This module only reads the IG's input shape
and writes the IG's output shape, in the pharmacy's words (`workflows.requirements`): one
nested GuidanceResponse per requirement a pharmacy may know of, each with who must act, the
reason codes, the sentence, and the date from which waiting alone meets it.
"""

from dataclasses import dataclass
from datetime import date, datetime

from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.parameters import Parameters
from sqlalchemy.orm import Session

from compliance.fhir.definitions import (
    ACTOR_SYSTEM,
    ACTORS,
    CANONICAL,
    NDC,
    PATIENT_ID_SYSTEM,
    POSSIBLE_FROM,
    REASON_SYSTEM,
    REQUIREMENT_SYSTEM,
    RMA_NUMBER_SYSTEM,
    RXNORM,
)
from compliance.identifiers import normalise_program_patient_id
from compliance.models import Pharmacy
from compliance.programs import program
from compliance.services import eligibility
from compliance.services.eligibility import Eligibility
from compliance.services.errors import NotFound, Refused
from workflows.findings import Actor
from workflows.requirements import RequirementState, for_pharmacy

CASE_NAMES = ("case_number", "caseNumber")
KNOWN = frozenset({"patient", "medication", *CASE_NAMES})
# RxNorm ingredient codes of each program's drugs: a medication naming another program's
# drug has no case here. Product codes (strengths, packs) are not listed: they are accepted.
INGREDIENTS = {"ipledge": frozenset({"6064"}),  # isotretinoin
               "lenalidomide": frozenset({"342369", "10432", "1369713"})}  # + thalido-, pomalido-
FHIR_TYPE = {Actor.PATIENT: "Patient", Actor.PRESCRIBER: "Practitioner",
             Actor.PHARMACY: "Organization", Actor.PROGRAM: "Organization"}
ANSWER_ID = "etasuOutputParameters"


@dataclass(frozen=True)
class EtasuAsk:
    """What the caller identified: our patient ID and birth date, or a case (RMA) number,
    and the medication's codes."""

    patient_id: str | None
    birth_date: date | None
    case_number: str | None
    rxnorm: frozenset[str]
    ndc: frozenset[str]


def read_ask(given: Parameters) -> EtasuAsk:
    """The operation's inputs, or Refused naming each parameter at fault (422)."""
    named: dict[str, list] = {}
    for parameter in given.parameter or []:
        named.setdefault(parameter.name, []).append(parameter)
    errors = {name: "Unknown parameter: send patient, medication or case_number."
              for name in named if name not in KNOWN}
    errors |= {name: "Send this parameter once." for name, items in named.items()
               if name in KNOWN and len(items) > 1}
    case = [p.valueString for name in CASE_NAMES for p in named.get(name, [])]
    if any(not (value or "").strip() for value in case):
        errors["case_number"] = "Send the case number as valueString."
    if len(case) > 1:
        errors["case_number"] = "Send case_number or caseNumber, not both."
    patient_id, born = _patient(named.get("patient", [None])[0], errors)
    codes = _medication(named.get("medication", [None])[0], errors)
    if not errors and patient_id is None and not case:
        errors["patient"] = (f"Send the patient with an identifier of system "
                             f"{PATIENT_ID_SYSTEM} and a birthDate, or a case_number.")
    if errors:
        raise Refused(errors)
    return EtasuAsk(patient_id, born, case[0].strip() if case else None,
                    codes.get(RXNORM, frozenset()), codes.get(NDC, frozenset()))


def etasu(db: Session, *, pharmacy: Pharmacy, ask: EtasuAsk, now: datetime) -> Parameters:
    """The IG's answer for this pharmacy now. Raises Throttled when it has missed too often."""
    try:
        found = _evaluate(db, pharmacy, ask, now)
    except NotFound as miss:
        return _answer(_failure(" ".join(miss.errors.values()), now))
    drugs = INGREDIENTS.get(found.patient.program, frozenset())
    elsewhere = frozenset().union(*INGREDIENTS.values()) - drugs
    if ask.rxnorm & elsewhere and not ask.rxnorm & drugs:
        return _answer(_failure("This patient's program does not cover this medication.",
                                now))
    return _answer(_guidance(found))


def _evaluate(db: Session, pharmacy: Pharmacy, ask: EtasuAsk, now: datetime) -> Eligibility:
    if ask.case_number is None:
        return eligibility.eligibility(db, pharmacy=pharmacy, patient_id=ask.patient_id,
                                       date_of_birth=ask.birth_date, now=now)
    found = eligibility.eligibility_by_rma(db, pharmacy=pharmacy, rma_number=ask.case_number,
                                           now=now)
    named = normalise_program_patient_id(ask.patient_id or "")
    if ask.patient_id is not None and (named != found.patient.program_patient_id
                                       or ask.birth_date != found.patient.date_of_birth):
        raise NotFound({"case_number": "This case number is not this patient's."})
    return found


def _patient(given, errors: dict) -> tuple[str | None, date | None]:
    if given is None:
        return None, None
    patient = given.resource
    if patient is None or patient.get_resource_type() != "Patient":
        errors["patient"] = "Send a Patient resource."
        return None, None
    ours = [i.value for i in patient.identifier or [] if i.system == PATIENT_ID_SYSTEM]
    if len(ours) != 1 or not (ours[0] or "").strip():
        errors["patient.identifier"] = (f"Send exactly one identifier of system "
                                        f"{PATIENT_ID_SYSTEM}: the patient's program ID.")
    if patient.birthDate is None:
        errors["patient.birthDate"] = "Send the patient's birthDate."
    return (ours[0] if len(ours) == 1 else None), patient.birthDate


def _medication(given, errors: dict) -> dict[str, frozenset[str]]:
    """The codes by system of a Medication, or of a MedicationRequest's medication (coded,
    or a contained Medication it references)."""
    if given is None:
        return {}
    item = given.resource
    kind = item.get_resource_type() if item is not None else None
    concept = None
    if kind == "Medication":
        concept = item.code
    elif kind == "MedicationRequest":
        concept = item.medicationCodeableConcept or _contained_code(item)
    if concept is None or not concept.coding:
        errors["medication"] = ("Send a Medication, or a MedicationRequest, coded with RxNorm "
                                "(and NDC when known).")
        return {}
    codes: dict[str, set[str]] = {}
    for coding in concept.coding:
        if coding.system and coding.code:
            codes.setdefault(coding.system, set()).add(coding.code)
    return {system: frozenset(values) for system, values in codes.items()}


def _contained_code(request):
    reference = (request.medicationReference and request.medicationReference.reference) or ""
    for resource in request.contained or []:
        if reference == f"#{resource.id}" and resource.get_resource_type() == "Medication":
            return resource.code
    return None


def _answer(guidance: GuidanceResponse) -> Parameters:
    return Parameters(parameter=[{"name": "rems-etasu", "resource": guidance}])


def _failure(sentence: str, now: datetime) -> GuidanceResponse:
    return GuidanceResponse(status="failure", moduleUri=f"{CANONICAL}/program",
                            occurrenceDateTime=now.isoformat(), note=[{"text": sentence}])


def _guidance(found: Eligibility) -> GuidanceResponse:
    """The overall status, the patient, and one nested answer per requirement."""
    patient = found.patient
    zone = program(patient.program).zone
    module = f"{CANONICAL}/program/{patient.program}"
    subject = {"reference": f"Patient/{patient.program_patient_id}", "type": "Patient",
               "identifier": {"system": PATIENT_ID_SYSTEM, "value": patient.program_patient_id}}
    states = for_pharmacy(found.reasons)
    parameters = [{"name": state.requirement.title,
                   "resource": _requirement(state, module, subject)} for state in states]
    parameters += _rma_parameters(found, zone)
    return GuidanceResponse(
        status="success" if found.decision.authorized else "data-required",
        moduleUri=module, subject=subject,
        occurrenceDateTime=found.checked_at.astimezone(zone).isoformat(),
        outputParameters={"reference": f"#{ANSWER_ID}"},
        contained=[Parameters(id=ANSWER_ID, parameter=parameters)])


def _requirement(state: RequirementState, module: str, patient: dict) -> GuidanceResponse:
    actor = state.actor
    who = {"type": FHIR_TYPE[actor], "display": ACTORS[actor],
           "identifier": {"system": ACTOR_SYSTEM, "value": str(actor)}}
    if actor is Actor.PATIENT:
        who["reference"] = patient["reference"]
    notes = [u.message for u in state.unmet] or [f"{state.requirement.title}: nothing is "
                                                 "needed now."]
    extension = ([{"url": POSSIBLE_FROM, "valueDate": state.possible_from.isoformat()}]
                 if state.possible_from else None)
    return GuidanceResponse(
        status="success" if state.met else "data-required", moduleUri=module,
        identifier=[{"system": REQUIREMENT_SYSTEM, "value": str(state.requirement)}],
        subject=who, note=[{"text": text} for text in notes], extension=extension,
        reasonCode=[{"coding": [{"system": REASON_SYSTEM, "code": u.code}], "text": u.message}
                    for u in state.unmet] or None)


def _rma_parameters(found: Eligibility, zone) -> list[dict]:
    """The open RMA's number (also the case number) and its do-not-dispense-after instant;
    without one, the instant an RMA asked for now would carry."""
    held = found.open_rma
    closes = held.window_closes_at if held else found.decision.window_closes_at
    listed = []
    if held:
        listed += [{"name": "case_number", "valueString": held.rma_number},
                   {"name": "rma_number", "valueIdentifier": {"system": RMA_NUMBER_SYSTEM,
                                                              "value": held.rma_number}}]
    if closes:
        listed.append({"name": "do_not_dispense_after",
                       "valueDateTime": closes.astimezone(zone).isoformat()})
    return listed
