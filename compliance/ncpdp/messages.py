"""NCPDP SCRIPT REMS messages: read safely, checked against our XSD, and answered in kind.

Parsing refuses a DOCTYPE outright and never resolves entities or reaches the network, so
an entity bomb or an external entity (XXE) is refused without being expanded. Every message
is validated against `rems_script.xsd` before anything reads it, and every answer before it
is sent: an answer that fails our own schema is a bug, raised, never sent.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files

import xmlschema
from lxml import etree
from lxml.builder import E

SCHEMA = xmlschema.XMLSchema11(str(files("compliance.ncpdp") / "rems_script.xsd"))
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                         huge_tree=False, remove_comments=True, remove_pis=True)
REQUESTS = ("REMSInitiationRequest", "REMSRequest", "RxFill")
VERSION = "2024011"  # the SCRIPT version CodeX sends for REMS transactions


class BadMessage(Exception):
    """A body that is not a message of our subset; `where` is the element at fault."""

    def __init__(self, detail: str, where: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.where = where


@dataclass(frozen=True)
class Incoming:
    """A validated request message: its kind, header parties and ids, and its body."""

    kind: str
    message_id: str
    to: tuple[str, str]  # (text, qualifier)
    sender: tuple[str, str]
    body: etree._Element


def read(raw: bytes) -> Incoming:
    """The request in `raw`, or BadMessage saying what is wrong."""
    try:
        root = etree.fromstring(raw, PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadMessage(f"The body is not well-formed XML: {exc.msg}.") from None
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD:
        raise BadMessage("A DOCTYPE is not accepted: send the message alone.")
    error = next(SCHEMA.iter_errors(root), None)
    if error is not None:
        raise BadMessage(_words(error), error.path or "")
    header, body = root.find("Header"), root.find("Body")[0]
    if body.tag not in REQUESTS:
        raise BadMessage(f"{body.tag} is an answer; send REMSInitiationRequest, REMSRequest "
                         "or RxFill.", f"/Message/Body/{body.tag}")
    return Incoming(body.tag, header.findtext("MessageID"), _party(header.find("To")),
                    _party(header.find("From")), body)


def patient_card(body: etree._Element) -> tuple[str, date]:
    """Our program patient ID and the date of birth, as on the patient's card."""
    human = body.find("Patient/HumanPatient")
    return (human.findtext("Identification/REMSPatientID").strip(),
            date.fromisoformat(human.findtext("DateOfBirth/Date")))


def rma_ask(body: etree._Element) -> dict:
    """A REMSRequest as the JSON API's RMA request (validated by the same model)."""
    patient_id, born = patient_card(body)
    drug = body.find("MedicationPrescribed")
    return {"patient_id": patient_id, "patient_date_of_birth": born,
            "prescriber_npi": body.findtext("Prescriber/NonVeterinarian/Identification/NPI"),
            "ndc": drug.findtext("DrugCoded/ProductCode/Code").strip(),
            "strength_mg": float(Decimal(drug.findtext("DrugCoded/Strength/StrengthValue"))),
            "quantity": int(drug.findtext("Quantity/Value")),
            "days_supply": int(drug.findtext("DaysSupply"))}


def fill(body: etree._Element) -> tuple[str, dict | None]:
    """An RxFill: the RMA number, and the dispense entry (None for "not dispensed", which
    reverses the RMA). Raises BadMessage when a dispense lacks what it must record."""
    number = body.findtext("REMSAuthorizationNumber").strip()
    if body.find("FillStatus/NotDispensed") is not None:
        return number, None
    dispensed = body.find("MedicationDispensed")
    if dispensed is None or dispensed.find("LastFillDate") is None:
        raise BadMessage("A dispensed RxFill needs MedicationDispensed with its Quantity, "
                         "DaysSupply and LastFillDate.", "/Message/Body/RxFill")
    if body.find("MedicationGuideGiven") is None:
        raise BadMessage("Say whether the Medication Guide was given (MedicationGuideGiven).",
                         "/Message/Body/RxFill")
    return number, {"rma_number": number, "quantity": int(dispensed.findtext("Quantity/Value")),
                    "days_supply": int(dispensed.findtext("DaysSupply")),
                    "dispensed_on": date.fromisoformat(dispensed.findtext("LastFillDate/Date")),
                    "medication_guide_given": body.findtext("MedicationGuideGiven").strip()
                    in ("true", "1")}


# --- Answers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Unmet:
    code: str
    actor: str
    note: str
    eligible_on: date | None = None


def unmet_element(name: str, reason: Unmet) -> etree._Element:
    element = E(name, E.DeniedReasonCode(reason.code), E.Actor(reason.actor),
                E.REMSNote(reason.note))
    if reason.eligible_on:
        element.append(E.EligibleOn(E.Date(reason.eligible_on.isoformat())))
    return element


def period(effective: date, expires: date, closes: datetime) -> etree._Element:
    """When an authorization may be filled: dates in the program's zone, and the instant
    it lapses with that zone's offset."""
    return E.AuthorizationPeriod(E.EffectiveDate(E.Date(effective.isoformat())),
                                 E.ExpirationDate(E.Date(expires.isoformat())),
                                 E.ExpirationDateTime(closes.isoformat()))


def answer(incoming: Incoming | None, body: etree._Element, now: datetime) -> bytes:
    """The message carrying `body`, addressed back to the sender, validated."""
    to, sender = (incoming.sender, incoming.to) if incoming else (("unknown", "ZZZ"),
                                                                  ("REMS", "ZZZ"))
    header = E.Header(E.To(to[0], Qualifier=to[1]), E.From(sender[0], Qualifier=sender[1]),
                      E.MessageID(uuid.uuid4().hex))
    if incoming:
        header.append(E.RelatesToMessageID(incoming.message_id))
    header.append(E.SentTime(now.isoformat()))
    message = E.Message(header, E.Body(body), TransactionDomain="SCRIPT",
                        TransactionVersion=VERSION, StructuresVersion=VERSION,
                        DatatypesVersion=VERSION, TransportVersion=VERSION,
                        ECLVersion=VERSION)
    SCHEMA.validate(message)
    return etree.tostring(message, xml_declaration=True, encoding="UTF-8")


def status(code: str, *, description: str, description_code: str | None = None,
           authorization: str | None = None, error: bool = False) -> etree._Element:
    element = E("Error" if error else "Status", E.Code(code))
    if description_code:
        element.append(E.DescriptionCode(description_code))
    element.append(E.Description(description[:1000]))
    if authorization:
        element.append(E.REMSAuthorizationNumber(authorization))
    return element


def _party(element: etree._Element) -> tuple[str, str]:
    return (element.text or "").strip(), element.get("Qualifier", "")


def _words(error: xmlschema.XMLSchemaValidationError) -> str:
    reason = (error.reason or "is not valid").rstrip(".")
    return f"{error.path or 'The message'}: {reason}."
