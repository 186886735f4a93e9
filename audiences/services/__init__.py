"""Writes of audiences, by topic: people and memberships, consent, access, erasure, CSV import.

The names other apps use are importable from here (`from audiences.services import grant_set`).
"""

from audiences.services.access import (
    access_granted_handler,
    audience_create,
    audience_save,
    audit_record,
    grant_notify_owner,
    grant_remove,
    grant_set,
)
from audiences.services.consent import (
    THE_PERSON,
    consent_check,
    consent_delete,
    consent_may_reverse,
    consent_set,
    person_opt_out,
)
from audiences.services.csv_import import ImportReport, people_import_csv
from audiences.services.erasure import ErasureReport, person_erase, person_erase_finish
from audiences.services.people import (
    PERSON_FIELDS,
    UPSERT_CHUNK,
    UpsertResult,
    membership_add,
    membership_remove,
    people_upsert,
)

__all__ = [
    "PERSON_FIELDS",
    "THE_PERSON",
    "UPSERT_CHUNK",
    "ErasureReport",
    "ImportReport",
    "UpsertResult",
    "access_granted_handler",
    "audience_create",
    "audience_save",
    "audit_record",
    "consent_check",
    "consent_delete",
    "consent_may_reverse",
    "consent_set",
    "grant_notify_owner",
    "grant_remove",
    "grant_set",
    "membership_add",
    "membership_remove",
    "people_import_csv",
    "people_upsert",
    "person_erase",
    "person_erase_finish",
    "person_opt_out",
]
