"""A patient's record as a page that prints and as a JSON download (`services.records`),
served the same way to each audience that may read it."""

import json
from collections.abc import Callable

from flask import Blueprint, Response, render_template, url_for

from compliance.db import get_session
from compliance.models import PatientProfile
from compliance.services import records


def add_routes(bp: Blueprint, rule: str, endpoint: str, *, guard: Callable,
               patient_of: Callable[..., PatientProfile], for_patient: bool = False) -> None:
    """`rule` (the page) and `rule.json` (the download) on `bp`, as `endpoint` and
    `endpoint_json`, behind `guard`; `patient_of(**url_values)` finds the patient or 404s
    (that is where ownership is checked)."""

    def page(**url_values):
        patient = patient_of(**url_values)
        record = records.export(get_session(), patient=patient, for_patient=for_patient)
        return render_template("record.html", record=record, sections=records.SECTIONS,
                               patient=patient,
                               json_url=url_for(f"{bp.name}.{endpoint}_json", **url_values))

    def download(**url_values):
        patient = patient_of(**url_values)
        record = records.export(get_session(), patient=patient, for_patient=for_patient)
        name = f"record-{patient.program_patient_id}.json"
        return Response(json.dumps(record, indent=2, sort_keys=True),
                        mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    bp.add_url_rule(rule, endpoint, guard(page))
    bp.add_url_rule(f"{rule}.json", f"{endpoint}_json", guard(download))
