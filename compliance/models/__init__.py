"""All tables, imported here so that `SQLModel.metadata` knows every one of them."""

from .audit import AuditEvent, AuditLogIsAppendOnly
from .enums import CertificationStatus, Role
from .invitations import Invitation
from .people import PatientProfile, PharmacistProfile, PrescriberProfile, User
from .pharmacies import Pharmacy
from .sessions import LoginAttempt, UserSession

__all__ = [
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "CertificationStatus",
    "Invitation",
    "LoginAttempt",
    "PatientProfile",
    "PharmacistProfile",
    "Pharmacy",
    "PrescriberProfile",
    "Role",
    "User",
    "UserSession",
]
