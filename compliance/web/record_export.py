"""A patient's record as a page that prints and as a JSON download (`services.records`)."""

import json

from flask import Response, render_template

from compliance.db import get_session
from compliance.models import PatientProfile
from compliance.services import records


def page(patient: PatientProfile, *, for_patient: bool = False, json_endpoint: str,
         **url_values) -> str:
    record = records.export(get_session(), patient=patient, for_patient=for_patient)
    return render_template("record.html", record=record, sections=records.SECTIONS,
                           patient=patient, json_endpoint=json_endpoint, url_values=url_values)


def download(patient: PatientProfile, *, for_patient: bool = False) -> Response:
    record = records.export(get_session(), patient=patient, for_patient=for_patient)
    name = f"record-{patient.program_patient_id}.json"
    return Response(json.dumps(record, indent=2, sort_keys=True), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
