"""The navigation each role sees in the shared layout."""

from flask_login import current_user

from compliance.models import Role
from compliance.web.forms import LogoutForm

NAVIGATION = {
    Role.ADMIN: [("admin.home", "Overview"), ("admin.prescribers", "Prescribers"),
                 ("admin.pharmacies", "Pharmacies"), ("admin.users", "Accounts"),
                 ("question_banks.index", "Question banks"),
                 ("cds_admin.clients_page", "EHR clients")],
    Role.PRESCRIBER: [("prescriber.home", "My patients"),
                      ("prescriber.new_patient", "Register a patient")],
    Role.PHARMACIST: [("pharmacist.home", "Open RMAs"),
                      ("pharmacist.find_patient", "Find a patient"),
                      ("pharmacist.record_dispense", "Record a dispense"),
                      ("pharmacist.api_keys_list", "API keys")],
    Role.PATIENT: [("patient.home", "My program"), ("patient.month", "This month"),
                   ("patient.history", "My history")],
}

HOME = {Role.ADMIN: "admin.home", Role.PRESCRIBER: "prescriber.home",
        Role.PHARMACIST: "pharmacist.home", Role.PATIENT: "patient.home"}


def inject_navigation() -> dict:
    """Template globals: the signed-in role's menu and a logout form with its CSRF token."""
    if not current_user.is_authenticated:
        return {"navigation": [], "logout_form": None}
    return {"navigation": NAVIGATION.get(current_user.role, []), "logout_form": LogoutForm()}
