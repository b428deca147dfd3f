"""Does the printed program card carry a QR code that a scanner reads as the patient ID, and
does it print alone on one card-sized page?"""

import re

import zxingcpp

from compliance.models import User
from tests.browser.conftest import sign_in_quickly
from tests.conftest import PASSWORD

MM = 72 / 25.4  # PDF points per millimetre
ID_1 = (85.6 * MM, 54 * MM)  # a payment card's size, ISO/IEC 7810 ID-1
# Draw the QR image as the browser shows it and hand back its grey levels, row by row.
PIXELS = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth * 2; canvas.height = img.naturalHeight * 2;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(img, 0, 0, canvas.width, canvas.height);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = [];
  for (let i = 0; i < rgba.length; i += 4) grey.push(rgba[i]);
  return {width: canvas.width, height: canvas.height, grey};
}"""


def test_the_card_s_code_reads_as_the_patient_id_and_prints_on_one_card(page, live_server,
                                                                          factory):
    patient = factory.patient(factory.prescriber())
    email = factory.db.get(User, patient.user_id).email
    sign_in_quickly(page, live_server.url, email, PASSWORD)
    page.goto(live_server("/patient/card"))

    drawn = page.locator(".card-sheet img.program-card-qr").evaluate(PIXELS)
    image = memoryview(bytearray(drawn["grey"])).cast("B", (drawn["height"], drawn["width"]))
    [code] = zxingcpp.read_barcodes(image)
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == patient.program_patient_id
    assert str(patient.date_of_birth.year) not in page.locator(".card-sheet").inner_text()

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1, f"{len(boxes)} printed pages"
    width, height = (float(n) for n in boxes[0])
    assert abs(width - ID_1[0]) < 1 and abs(height - ID_1[1]) < 1
