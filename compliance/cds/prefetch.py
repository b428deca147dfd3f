"""The FHIR resources a hook needs: from the request's prefetch, or else fetched from the
EHR's `fhirServer` with the bearer token it sent, only those missing, with short timeouts.

A server that fails or answers nonsense becomes `FetchFailed` with a plain message that the
view answers with; nothing here raises anything else.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

TIMEOUT = httpx.Timeout(3.0, connect=2.0)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# What each service asks the EHR to send; the same keys are fetched when missing.
PATIENT = ("patient", "Patient/{{context.patientId}}")
PRACTITIONER = ("practitioner", "{{context.userId}}")
MEDICATION_REQUESTS = ("medicationRequests",
                       "MedicationRequest?subject={{context.patientId}}&status=active"
                       "&_include=MedicationRequest:medication")


class FetchFailed(Exception):
    """The EHR's FHIR server could not give what the prefetch lacked."""


@dataclass(frozen=True)
class Resources:
    patient: dict | None
    practitioner: dict | None


def templates(*keys: tuple[str, str]) -> dict:
    return dict(keys)


def gather(body: dict) -> Resources:
    """The patient and practitioner of the hook, from prefetch first and the server second."""
    context, prefetch = body.get("context") or {}, body.get("prefetch") or {}
    wanted = {"patient": _reference("Patient", context.get("patientId")),
              "practitioner": context.get("userId") if _is_practitioner(context) else None}
    found = {key: _resource(prefetch.get(key)) for key in wanted}
    missing = {key: ref for key, ref in wanted.items() if found[key] is None and ref}
    if missing:
        found.update(_fetch(body, missing))
    return Resources(found["patient"], found["practitioner"])


def _is_practitioner(context: dict) -> bool:
    return str(context.get("userId") or "").startswith("Practitioner/")


def _reference(kind: str, resource_id) -> str | None:
    return f"{kind}/{resource_id}" if isinstance(resource_id, str) and resource_id else None


def _resource(value) -> dict | None:
    return value if isinstance(value, dict) and value.get("resourceType") else None


def _fetch(body: dict, missing: dict) -> dict:
    server, auth = body.get("fhirServer"), body.get("fhirAuthorization") or {}
    token = auth.get("access_token") if isinstance(auth, dict) else None
    if not isinstance(server, str) or not _secure(server):
        raise FetchFailed("Prefetch is incomplete and no https fhirServer was sent to fetch "
                          "from.")
    if not isinstance(token, str) or not token:
        raise FetchFailed("Prefetch is incomplete and fhirAuthorization has no access_token.")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    fetched = {}
    with httpx.Client(timeout=TIMEOUT, headers=headers, follow_redirects=False) as http:
        for key, reference in missing.items():
            fetched[key] = _get(http, server.rstrip("/") + "/" + reference, reference)
    return fetched


def _secure(server: str) -> bool:
    """https, or plain http to this machine only: the EHR's token must not cross a network
    in the clear (CDS Hooks asks for TLS)."""
    url = urlsplit(server)
    return url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK)


def _get(http: httpx.Client, url: str, reference: str) -> dict:
    try:
        answer = http.get(url)
        resource = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        raise FetchFailed(f"The EHR's FHIR server did not answer for {reference}.") from None
    if _resource(resource) is None:
        raise FetchFailed(f"The EHR's FHIR server gave no {reference} "
                          f"(HTTP {answer.status_code}).")
    return resource
