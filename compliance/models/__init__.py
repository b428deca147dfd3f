"""All tables, imported here so that `SQLModel.metadata` knows every one of them."""

from .api_keys import ApiKey
from .audit import AuditEvent, AuditLogIsAppendOnly, AuditSeal
from .cds import CdsCard, CdsClient, CdsFeedback, CdsTokenUse, EhrPatientLink
from .courses import CategoryChange, ContraceptionMethod, Course, PregnancyTest
from .cycles import Cycle, QuizAttempt
from .emergency import EmergencyAccess
from .enums import BankStatus, CertificationStatus, Role
from .factors import Passkey, RecoveryCode, TotpFactor
from .idempotency import IdempotencyKey, KeyState
from .invitations import Invitation, LinkPurpose
from .outbox import MessageStatus, OutboxMessage, ScheduledJob
from .people import PatientProfile, PharmacistProfile, PrescriberProfile, User
from .pharmacies import Pharmacy
from .questions import QuestionBank
from .reminders import CalendarFeed, ReminderOptOut
from .rmas import Dispense, Rma, RmaRequest, RmaStatus
from .sessions import LoginAttempt, LookupMiss, UserSession
from .signatures import Signature

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AuditSeal",
    "BankStatus",
    "CalendarFeed",
    "CategoryChange",
    "CdsCard",
    "CdsClient",
    "CdsFeedback",
    "CdsTokenUse",
    "CertificationStatus",
    "ContraceptionMethod",
    "Course",
    "Cycle",
    "Dispense",
    "EhrPatientLink",
    "EmergencyAccess",
    "IdempotencyKey",
    "Invitation",
    "KeyState",
    "LinkPurpose",
    "LoginAttempt",
    "LookupMiss",
    "MessageStatus",
    "OutboxMessage",
    "Passkey",
    "PatientProfile",
    "PharmacistProfile",
    "Pharmacy",
    "PregnancyTest",
    "PrescriberProfile",
    "QuestionBank",
    "QuizAttempt",
    "RecoveryCode",
    "ReminderOptOut",
    "Rma",
    "RmaRequest",
    "RmaStatus",
    "Role",
    "ScheduledJob",
    "Signature",
    "TotpFactor",
    "User",
    "UserSession",
]
