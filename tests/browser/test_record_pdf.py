"""S30: a signed record printed to PDF (Chromium's print, as a person saving the page)
shows each signature's name, time and meaning, and keeps the name the signer had when
signing after the account is renamed."""

import io
import re
import unicodedata

import freezegun
from pypdf import PdfReader

from compliance.models import Signature
from compliance.services import signatures
from tests.browser.conftest import sign_in_quickly
from tests.conftest import PASSWORD
from tests.course_helpers import at, ready_for_first_fill


def test_the_printed_record_shows_who_signed_when_and_what_it_meant(page, live_server, app,
                                                                    db, factory):
    with freezegun.freeze_time(at(20)), app.test_request_context():
        world = ready_for_first_fill(db, factory)
    signed_as = world.patient_user.name
    world.patient_user.name = "Casey Renamed-Later"
    db.add(world.patient_user)
    db.commit()
    sign_in_quickly(page, live_server.url, world.prescriber_user.email, PASSWORD)
    page.goto(live_server(f"/prescriber/patients/{world.patient.id}/record"))
    printed = PdfReader(io.BytesIO(page.pdf(print_background=True))).pages
    text = unicodedata.normalize("NFKC", " ".join(" ".join(sheet.extract_text().split())
                                                  for sheet in printed))
    for meaning in (signatures.ENROLLMENT, signatures.PRESCRIBER_MONTHLY,
                    signatures.PATIENT_MONTHLY):
        assert " ".join(meaning.split()) in text, meaning  # on one page, not cut
    assert signed_as in text and "Casey Renamed-Later" not in text.split("Signatures")[-1]
    assert db.query(Signature).filter_by(signer_name=signed_as).count() == 2
    assert "Oct 1, 2026" in text  # the time of the enrollment signature, in words
    assert re.search(r"\baddress\b", text)  # the widest table's last column, not cut off
