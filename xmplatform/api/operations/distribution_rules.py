"""Distribution rules created through the API, checked by the admin's own rule form.

The form (surveys.admin.forms_distribution.DistributionRuleForm) holds the rules' checks:
channels that can deliver, a trigger's touchpoint on the survey audience's journeys, event and
attribute filters, a wave's schedule (one-off in the future, recurring, or a cron line). This
module turns a JSON body into the form's data, so the API refuses exactly what the admin does,
with the same messages, and saves and schedules the rule as the admin does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from surveys.admin.forms_distribution import DistributionRuleForm, recontact_warning
from surveys.models import DistributionRule
from xmplatform.api import selectors
from xmplatform.api.operations.common import as_text, check_id
from xmplatform.api.selectors import Scope

FIELDS = frozenset(
    {
        "survey",
        "name",
        "kind",
        "active",
        "channels",
        "touchpoint",
        "delay",
        "sampling_rate",
        "condition",
        "segment",
        "attribute_filter",
        "sample_share",
        "hourly_cap",
        "reminder_count",
        "reminder_after_days",
        "expiry_days",
        "schedule",
        "first_run",
        "cron",
    }
)
# Sent as JSON, given to the form as the text its fields parse.
JSON_FIELDS = ("condition", "attribute_filter")
PLAIN_FIELDS = (
    "name",
    "kind",
    "sampling_rate",
    "segment",
    "sample_share",
    "hourly_cap",
    "reminder_count",
    "reminder_after_days",
    "expiry_days",
    "schedule",
    "cron",
)


def _form_value(value: Any) -> Any:
    """A JSON scalar as a posted form would carry it (None: an empty field)."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value)


def _defaults() -> dict[str, Any]:
    """The model's defaults as form data: a form reads an absent field as empty, not default."""
    data: dict[str, Any] = {}
    for name in DistributionRuleForm._meta.fields or []:
        field = DistributionRule._meta.get_field(name)
        if not field.has_default():
            continue
        value = field.get_default()
        if isinstance(value, dt.timedelta):
            data[name] = str(value)
        elif isinstance(value, dict | list):
            data[name] = ", ".join(value) if name == "channels" else json.dumps(value)
        else:
            data[name] = value
    return data


def _form_data(body: dict[str, Any], scope: Scope) -> tuple[dict[str, Any], dict[str, list]]:
    problems: dict[str, list[str]] = {}
    for name in sorted(set(body) - FIELDS):
        problems[name] = [
            _("Unknown field; a distribution rule has: %(fields)s.")
            % {"fields": ", ".join(sorted(FIELDS))}
        ]
    data = _defaults()
    survey_id = body.get("survey")
    if (
        isinstance(survey_id, bool)
        or not isinstance(survey_id, int)
        or not check_id(survey_id)
        or not selectors.surveys_visible(scope=scope).filter(pk=survey_id).exists()
    ):
        problems["survey"] = [_("No survey has this id.")]
    else:
        data["survey"] = survey_id
    slug = body.get("touchpoint")
    if slug not in (None, ""):
        touchpoint = (
            selectors.touchpoints_visible(scope=scope).filter(slug=slug).first()
            if isinstance(slug, str)
            else None
        )
        if touchpoint is None:
            problems["touchpoint"] = [_("No touchpoint has this slug.")]
        else:
            data["touchpoint"] = touchpoint.pk
    for name in PLAIN_FIELDS:
        if name in body:
            data[name] = _form_value(body[name])
    for name in JSON_FIELDS:
        if name in body:
            data[name] = json.dumps(body[name])
    if "active" in body:
        if not isinstance(body["active"], bool):
            problems["active"] = [_("Give true or false.")]
        data["active"] = body["active"] is True
    if "channels" in body:
        channels = body["channels"]
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            problems["channels"] = [_('Give the channels as a list, e.g. ["email", "sms"].')]
        else:
            data["channels"] = ", ".join(channels)
    if "delay" in body:
        delay = body["delay"]
        if isinstance(delay, int) and not isinstance(delay, bool) and 0 <= delay < 10**9:
            data["delay"] = str(dt.timedelta(seconds=delay))
        else:
            data["delay"] = as_text(delay) or ""
    first_run = body.get("first_run")
    if first_run not in (None, ""):
        try:
            moment = parse_datetime(first_run) if isinstance(first_run, str) else None
        except ValueError:
            moment = None
        if moment is None or timezone.is_naive(moment):
            problems["first_run"] = [
                _("Use an ISO 8601 moment with an offset, e.g. 2026-09-01T09:00:00+03:00.")
            ]
        else:
            local = timezone.localtime(moment)
            data["first_run_0"] = local.date().isoformat()
            data["first_run_1"] = local.time().replace(microsecond=0).isoformat()
    return data, problems


def _errors(form: DistributionRuleForm) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, messages in form.errors.items():
        if name == "__all__":
            out["detail"] = " ".join(str(m) for m in messages)
        else:
            out[name] = [str(m) for m in messages]
    return out


def rule_data(rule: DistributionRule, warnings: list[str]) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "survey": rule.survey_id,
        "name": rule.name,
        "kind": rule.kind,
        "active": rule.active,
        "channels": list(rule.channels or []),
        "touchpoint": rule.touchpoint.slug if rule.touchpoint_id else None,
        "delay_seconds": int(rule.delay.total_seconds()),
        "sampling_rate": rule.sampling_rate,
        "condition": rule.condition or {},
        "segment": rule.segment,
        "attribute_filter": rule.attribute_filter or {},
        "sample_share": rule.sample_share,
        "hourly_cap": rule.hourly_cap,
        "reminder_count": rule.reminder_count,
        "reminder_after_days": rule.reminder_after_days,
        "expiry_days": rule.expiry_days,
        "scheduled": rule.periodic_task_id is not None,
        "warnings": warnings,
    }


def distribution_rule_create(*, body: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Create (and, for a wave, schedule) a rule from `body`; a 400 that names each field."""
    data, problems = _form_data(body, scope)
    if problems:
        raise ValidationError(problems)
    form = DistributionRuleForm(data=data)
    form.fields["survey"].queryset = selectors.surveys_visible(scope=scope)  # type: ignore[attr-defined]
    form.fields["touchpoint"].queryset = selectors.touchpoints_visible(scope=scope)  # type: ignore[attr-defined]
    if not form.is_valid():
        raise ValidationError(_errors(form))
    with transaction.atomic():
        rule = form.save()
        form.schedule_save(rule)
    warning = recontact_warning(rule, form.cleaned_data.get("schedule") or "")
    return rule_data(rule, [str(warning)] if warning else [])
