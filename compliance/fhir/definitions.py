"""What we publish for FHIR clients: canonical URLs, our CodeSystems, the extension we
define, the `$rems-etasu` OperationDefinition the IG lacks, and the CapabilityStatement.

Each is built from the enums the rules already use (reason codes, requirements, actors), so
a code cannot be answered without being published. Canonical URLs are stable names under
`CANONICAL`; the same resources are served at /fhir/r4/<type>/<id>.
"""

from datetime import date

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.structuredefinition import StructureDefinition

from workflows.findings import Actor, ReasonCode
from workflows.pharmacy_reasons import SENTENCES, PharmacyCode
from workflows.requirements import Requirement

CANONICAL = "https://rems-compliance.dev/fhir"
PATIENT_ID_SYSTEM = f"{CANONICAL}/sid/program-patient-id"
RMA_NUMBER_SYSTEM = f"{CANONICAL}/sid/rma-number"
REASON_SYSTEM = f"{CANONICAL}/CodeSystem/rems-reason"
REQUIREMENT_SYSTEM = f"{CANONICAL}/CodeSystem/rems-requirement"
ACTOR_SYSTEM = f"{CANONICAL}/CodeSystem/rems-actor"
POSSIBLE_FROM = f"{CANONICAL}/StructureDefinition/possible-from"
ETASU_OPERATION = f"{CANONICAL}/OperationDefinition/rems-etasu"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
PUBLISHED_ON = date(2026, 12, 4)  # when these definitions last changed
FHIR_VERSION = "4.0.1"

_COMMON = {"status": "active", "experimental": False, "date": PUBLISHED_ON.isoformat(),
           "publisher": "REMS compliance service", "version": "1.0.0"}
ACTORS = {Actor.PRESCRIBER: "The prescriber", Actor.PATIENT: "The patient",
          Actor.PHARMACY: "The pharmacy", Actor.PROGRAM: "The program administrator"}


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def reason_codes() -> CodeSystem:
    """Every reason a requirement can be unmet: the pharmacy's codes (each with its one
    sentence) and the clinical codes the prescriber reads, marked by audience."""
    concepts = [{"code": str(code), "display": _words(code), "definition": SENTENCES[code],
                 "property": [{"code": "audience", "valueCode": "pharmacy"}]}
                for code in PharmacyCode]
    concepts += [{"code": str(code), "display": _words(code),
                  "definition": f"Unmet: {_words(code).lower()}.",
                  "property": [{"code": "audience", "valueCode": "prescriber"}]}
                 for code in ReasonCode if code not in _SHARED]
    return CodeSystem(
        **_COMMON, id="rems-reason", url=REASON_SYSTEM, name="RemsReason",
        title="REMS reason codes", content="complete", caseSensitive=True,
        description="Why a REMS requirement is not met. A pharmacy is only ever sent the "
                    "codes whose audience is 'pharmacy' (minimum necessary).",
        property=[{"code": "audience", "type": "code",
                   "description": "Who may be sent the code: pharmacy or prescriber."}],
        concept=concepts)


_SHARED = {str(code) for code in PharmacyCode}


def requirement_codes() -> CodeSystem:
    return CodeSystem(
        **_COMMON, id="rems-requirement", url=REQUIREMENT_SYSTEM, name="RemsRequirement",
        title="REMS requirements", content="complete", caseSensitive=True,
        description="The elements of a REMS program reported by $rems-etasu, one nested "
                    "GuidanceResponse each.",
        concept=[{"code": str(req), "display": req.title} for req in Requirement])


def actor_codes() -> CodeSystem:
    return CodeSystem(
        **_COMMON, id="rems-actor", url=ACTOR_SYSTEM, name="RemsActor",
        title="Who must act", content="complete", caseSensitive=True,
        description="The stakeholder who must act for a requirement to be met.",
        concept=[{"code": str(actor), "display": words} for actor, words in ACTORS.items()])


def possible_from() -> StructureDefinition:
    """The date from which an unmet requirement is met by waiting alone."""
    return StructureDefinition(
        **_COMMON, id="possible-from", url=POSSIBLE_FROM, name="PossibleFrom",
        title="Possible from", fhirVersion=FHIR_VERSION, kind="complex-type",
        abstract=False, type="Extension", derivation="constraint",
        baseDefinition="http://hl7.org/fhir/StructureDefinition/Extension",
        description="On a nested $rems-etasu GuidanceResponse: the program-calendar date on "
                    "which the requirement becomes met without anyone acting. Absent when "
                    "someone must act.",
        context=[{"type": "element", "expression": "GuidanceResponse"}],
        differential={"element": [
            {"id": "Extension", "path": "Extension", "short": "Possible from",
             "definition": "The date from which the requirement is met by waiting.",
             "min": 0, "max": "1"},
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": POSSIBLE_FROM},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1,
             "type": [{"code": "date"}]},
        ]})


def etasu_operation() -> OperationDefinition:
    def param(name, use, low, high, kind, doc, **extra):
        return {"name": name, "use": use, "min": low, "max": high, "type": kind,
                "documentation": doc, **extra}

    return OperationDefinition(
        **_COMMON, id="rems-etasu", url=ETASU_OPERATION, name="RemsEtasu",
        title="REMS ETASU status", kind="operation", code="rems-etasu",
        resource=["GuidanceResponse"], system=False, type=True, instance=False,
        affectsState=False,
        description="The status of every REMS requirement for one patient now, as the HL7 US "
                    "Medication REMS IG's $rems-etasu, with who must act and, when only time "
                    "stands in the way, from when. Send the patient (our program patient ID "
                    "and birthDate) or a case number (an RMA number issued to your pharmacy).",
        parameter=[
            param("patient", "in", 0, "1", "Patient",
                  f"identifier with system {PATIENT_ID_SYSTEM}, and birthDate."),
            param("medication", "in", 0, "1", "Resource",
                  "A Medication or MedicationRequest coded with RxNorm (and NDC when known); "
                  "it must be a drug of the patient's program."),
            param("case_number", "in", 0, "1", "string", "An RMA number of your pharmacy."),
            param("caseNumber", "in", 0, "1", "string", "The same, as CodeX spells it."),
            param("rems-etasu", "out", 1, "1", "GuidanceResponse",
                  "status success (an RMA could be issued now), data-required (something is "
                  "missing) or failure (no patient or case matches); one nested "
                  "GuidanceResponse per requirement in the contained Parameters "
                  "'etasuOutputParameters', with case_number, rma_number and "
                  "do_not_dispense_after when your pharmacy holds an open RMA."),
        ])


def capability(base_url: str) -> CapabilityStatement:
    read = [{"code": "read"}]
    return CapabilityStatement(
        **_COMMON, id="rems-compliance", url=f"{CANONICAL}/CapabilityStatement/rems-compliance",
        name="RemsCompliance", title="REMS compliance FHIR server", kind="instance",
        fhirVersion=FHIR_VERSION, format=["application/fhir+json"],
        implementation={"description": "REMS administrator", "url": base_url},
        software={"name": "rems-compliance"},
        rest=[{"mode": "server",
               "security": {"description": "POST $rems-etasu with a pharmacy API key: "
                                           "Authorization: Bearer <key>. The definitions and "
                                           "this statement are public."},
               "resource": [
                   {"type": "GuidanceResponse",
                    "operation": [{"name": "rems-etasu", "definition": ETASU_OPERATION}]},
                   {"type": "OperationDefinition", "interaction": read},
                   {"type": "CodeSystem", "interaction": read},
                   {"type": "StructureDefinition", "interaction": read}]}])


PUBLISHED = {
    ("CodeSystem", "rems-reason"): reason_codes,
    ("CodeSystem", "rems-requirement"): requirement_codes,
    ("CodeSystem", "rems-actor"): actor_codes,
    ("StructureDefinition", "possible-from"): possible_from,
    ("OperationDefinition", "rems-etasu"): etasu_operation,
}
