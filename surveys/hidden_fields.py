"""Hidden fields: data an invitation or a signed public link carries into a response.

A survey declares the names (`Survey.hidden_fields`, e.g. `order_id`, `store`); values come
from the invitation (`Invitation.data`: the API's `data`, or the attributes of the event a
trigger fired on) or from a public link's query, signed with the link's secret. The response
keeps them (`Response.data`) from its first save; display logic can test them and question
texts can quote them (`{order_id}`).

Anonymous surveys take no field that names a person (`identifying_name`), and no value that
is the person's e-mail, phone, name or external id, or looks like an e-mail address.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
VALUE_MAX_CHARS = 200
MAX_FIELDS = 20
SIGNATURE_PARAM = "sig"
# Query parameters the hosted pages use themselves: never a field's name.
RESERVED = frozenset({SIGNATURE_PARAM, "lang", "page", "done"})
# Names that say whom a response is from. Compared without case, "_" and "-".
IDENTIFYING = frozenset(
    {
        "email",
        "mail",
        "emailaddress",
        "phone",
        "phonenumber",
        "mobile",
        "msisdn",
        "gsm",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "username",
        "login",
        "person",
        "personid",
        "user",
        "userid",
        "employee",
        "employeeid",
        "employeeno",
        "employeenumber",
        "staffid",
        "externalid",
        "customerid",
        "memberid",
        "nationalid",
        "tckn",
        "tckimlik",
        "ssn",
        "ip",
        "ipaddress",
        "address",
        "birthdate",
        "dateofbirth",
    }
)
# A name with one of these parts is identifying too (`manager_email`, `work_phone`).
IDENTIFYING_PARTS = frozenset({"email", "mail", "phone", "mobile", "msisdn", "surname", "tckn"})
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


class HiddenDataInvalid(ValueError):
    """A hidden field value that cannot be accepted; `field` names it."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def identifying_name(name: str) -> bool:
    """Whether a field called `name` would say whom an anonymous response is from."""
    lowered = name.lower()
    return lowered.replace("_", "").replace("-", "") in IDENTIFYING or bool(
        set(lowered.split("_")) & IDENTIFYING_PARTS
    )


def field_errors(names: Any, *, question_keys: Iterable[str], anonymous: bool) -> list[str]:
    """What is wrong with a survey's declared hidden field names (empty when they are fine).

    Each message names the field it is about.
    """
    if not isinstance(names, list):
        return [str(_('Hidden fields are a list of names, e.g. ["order_id", "store"].'))]
    errors: list[str] = []
    if len(names) > MAX_FIELDS:
        errors.append(str(_("At most %(max)d hidden fields.") % {"max": MAX_FIELDS}))
    keys = set(question_keys)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            errors.append(
                str(
                    _(
                        "“%(name)s” is not a valid hidden field name: use letters, digits and "
                        "_ (up to 40), starting with a letter or _."
                    )
                    % {"name": name}
                )
            )
            continue
        if name in seen:
            errors.append(str(_("The hidden field “%(name)s” is named twice.") % {"name": name}))
        elif name in RESERVED:
            errors.append(
                str(_("“%(name)s” is reserved for the survey pages' links.") % {"name": name})
            )
        elif name in keys:
            errors.append(
                str(
                    _("The hidden field “%(name)s” has the key of a question; rename one.")
                    % {"name": name}
                )
            )
        elif anonymous and identifying_name(name):
            errors.append(
                str(
                    _(
                        "An anonymous survey cannot have the hidden field “%(name)s”: it "
                        "would say whom a response is from."
                    )
                    % {"name": name}
                )
            )
        seen.add(name)
    return errors


def _person_values(person: Any) -> set[str]:
    if person is None:
        return set()
    values = (getattr(person, f, "") for f in ("email", "phone", "external_id", "name"))
    return {str(v).strip().casefold() for v in values if v}


def data_clean(
    data: Any, *, names: Iterable[str], anonymous: bool, person: Any = None
) -> dict[str, str]:
    """`data` as stored: the declared fields' values as text. Raises HiddenDataInvalid
    (naming the field) for an unknown name, a value that is not text or a number, a value
    too long, and, for an anonymous survey, a value that points to a person."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise HiddenDataInvalid("data", _("Give the hidden field values as an object."))
    declared = set(names)
    own = _person_values(person) if anonymous else set()
    clean: dict[str, str] = {}
    for name, value in data.items():
        if name not in declared:
            raise HiddenDataInvalid(
                str(name),
                _("“%(name)s” is not a hidden field of this survey.") % {"name": name},
            )
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise HiddenDataInvalid(name, _("A hidden field value is text or a number."))
        text = str(value).strip()
        if len(text) > VALUE_MAX_CHARS:
            raise HiddenDataInvalid(
                name,
                _("A hidden field value has at most %(max)d characters.")
                % {"max": VALUE_MAX_CHARS},
            )
        if anonymous and ("@" in text or text.casefold() in own):
            raise HiddenDataInvalid(
                name,
                _(
                    "This survey is anonymous: a hidden field value cannot be an e-mail "
                    "address or the person's phone, name or external id."
                ),
            )
        if text:
            clean[name] = text
    return clean


def event_data(
    attributes: Any, *, names: Iterable[str], anonymous: bool, person: Any = None
) -> dict[str, str]:
    """The hidden field values a trigger copies from its event's attributes: the declared
    names only; a value data_clean refuses is left out (an event cannot be answered 400)."""
    if not isinstance(attributes, Mapping):
        return {}
    clean: dict[str, str] = {}
    for name in names:
        if name not in attributes:
            continue
        try:
            clean |= data_clean(
                {name: attributes[name]}, names=[name], anonymous=anonymous, person=person
            )
        except HiddenDataInvalid:
            continue
    return clean


# --- Signed public links ---------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_hex(32)


def signed_query(values: Mapping[str, Any]) -> str:
    """The text a link's signature covers: the fields in name order, as urlencode writes them."""
    return urlencode(sorted((str(k), str(v)) for k, v in values.items()))


def signature(*, secret: str, values: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) of signed_query(values) under the link's secret."""
    return hmac.new(secret.encode(), signed_query(values).encode(), hashlib.sha256).hexdigest()


def signed_url(base: str, *, secret: str, values: Mapping[str, Any]) -> str:
    """`base` with `values` and their signature as its query."""
    query = signed_query(values)
    sig = signature(secret=secret, values=values)
    return f"{base}?{query}&{SIGNATURE_PARAM}={sig}" if query else base


class LinkDataRefused(Exception):
    """A public link's query carries hidden field values without a valid signature."""


def link_data(
    query: Mapping[str, Any], *, secret: str, names: Iterable[str], anonymous: bool
) -> dict[str, str]:
    """The hidden field values a public link's query carries, checked against its signature.

    Parameters that are not hidden fields (language, page, campaign tags) are ignored. Raises
    LinkDataRefused when a field is present and the signature is missing or wrong (a value
    changed or added), or a value is not acceptable.
    """
    given = {n: query.get(n) for n in names if query.get(n) is not None}
    if not given:
        return {}
    sig = str(query.get(SIGNATURE_PARAM) or "")
    if not secret or not hmac.compare_digest(sig, signature(secret=secret, values=given)):
        raise LinkDataRefused
    try:
        return data_clean(given, names=list(given), anonymous=anonymous)
    except HiddenDataInvalid as refusal:
        raise LinkDataRefused from refusal


def link_query(query: Mapping[str, Any], *, names: Iterable[str]) -> dict[str, str]:
    """The hidden field parameters and signature of a link's query, to carry to the next page."""
    kept = {n: str(query.get(n)) for n in names if query.get(n) is not None}
    if kept and query.get(SIGNATURE_PARAM):
        kept[SIGNATURE_PARAM] = str(query.get(SIGNATURE_PARAM))
    return kept


# --- Piping ----------------------------------------------------------------------------------


def pipe(text: str, *, data: Mapping[str, Any], names: Iterable[str]) -> str:
    """`text` with each `{name}` of a declared field replaced by its value (empty when there is
    none). The result is plain text: templates escape it."""
    declared = set(names)
    if not declared or "{" not in text:
        return text

    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name not in declared:
            return match.group(0)
        found = str(data.get(name) or "")
        missing |= not found
        return found

    piped = PLACEHOLDER.sub(value, text)
    if missing:
        # A missing value leaves no double space, nor a space before punctuation.
        piped = re.sub(r"[ \t]{2,}", " ", piped)
        piped = re.sub(r" ([?!.,;:])", r"\1", piped).strip()
    return piped
