"""The patient's program card: the patient ID as text and as a QR code a pharmacy scans.

The code holds the program patient ID and nothing else (never the date of birth or anything
clinical), so a lost card tells a finder no more than the printed ID does. A full QR code,
not a Micro QR: pharmacy scanners and phone cameras read the first, many not the second.
"""

import segno


def qr_image(patient_id: str) -> str:
    """The ID as a QR code, an SVG `data:` URI that prints sharp at any size."""
    return segno.make_qr(patient_id, error="m").svg_data_uri(scale=4, border=4)
