"""A named invitation's completion on PostgreSQL, in one statement.

The claim, the response (created, or completed if a page save created it), its answers
upserted, the emptied or hidden ones deleted and the `response.completed` outbox rows: what
surveys.services.responses does for a named invitation with the ORM, in one statement, atomic
by itself. It saves the round trips and the ORM's work of six statements in a transaction, most
of a hosted submit's cost.
"""

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audiences.models import Membership
from journeys.models import TouchpointEvent
from surveys.models import Answer, Invitation, InvitationState, Question, Response, Survey
from surveys.services.answers import answer_changes, hidden_answered
from surveys.validation import AnswerValue
from xmplatform.core.models import OutboxMessage
from xmplatform.core.outbox import handlers_table, outbox_wake

COMPLETED_EVENT = "response.completed"

# The claim's conditional UPDATE takes the invitation's row lock, so a concurrent submit waits
# and then claims nothing: no row comes back and nothing is written. The claim makes this the
# only completion, so a conflicting (unfinished) response is completed as is. Data-modifying
# CTEs all run, referenced or not; the answers reach the database as one JSON document
# (question_id, number, text, choices per row). `released` is written although a named
# response is always released: Django keeps field defaults out of the table, so the column has
# no default of its own.
_SUBMIT_NAMED_SQL = """
WITH claim AS (
    UPDATE {invitation} SET state = %(state)s, responded_at = %(now)s,
        opened_at = COALESCE(opened_at, %(now)s)
    WHERE id = %(invitation_id)s AND responded_at IS NULL
    RETURNING id
), response AS (
    INSERT INTO {response} (survey_id, audience_id, touchpoint_id, invitation_id, person_id,
        channel, language, segment, started_at, completed_at, completed_on, user_agent, released,
        version, data)
    SELECT %(survey_id)s, %(audience_id)s,
        COALESCE(
            (SELECT touchpoint_id FROM {event} WHERE id = %(event_id)s), %(touchpoint_id)s
        ),
        claim.id, %(person_id)s, %(channel)s, %(language)s,
        COALESCE(
            (SELECT segment FROM {membership}
             WHERE person_id = %(person_id)s AND audience_id = %(audience_id)s),
            ''
        ),
        %(now)s, %(now)s, %(day)s, %(user_agent)s, TRUE, %(version)s, %(data)s::jsonb
    FROM claim
    ON CONFLICT (invitation_id) DO UPDATE SET completed_at = EXCLUDED.completed_at,
        completed_on = EXCLUDED.completed_on, resume_key = NULL, version = EXCLUDED.version
    RETURNING id
), upserted AS (
    INSERT INTO {answer} (response_id, question_id, number, text, choices)
    SELECT response.id, a.question_id, a.number, a.text, a.choices
    FROM response, jsonb_to_recordset(%(answers)s::jsonb)
        AS a(question_id bigint, number smallint, text text, choices jsonb)
    ON CONFLICT (response_id, question_id) DO UPDATE SET number = EXCLUDED.number,
        text = EXCLUDED.text, choices = EXCLUDED.choices
){dropped}{outbox}
SELECT id FROM response
"""
# Only when there are answers to drop: an empty DELETE still costs about a fifth of the
# statement's database time.
_SUBMIT_NAMED_DROPPED_SQL = """, dropped AS (
    DELETE FROM {answer}
    WHERE response_id IN (SELECT id FROM response) AND question_id = ANY(%(dropped)s::bigint[])
)"""
# One outbox row per handler of response.completed, as outbox_emit writes it; the payload names
# the response's id, known only inside the statement.
_SUBMIT_NAMED_OUTBOX_SQL = """, outbox AS (
    INSERT INTO {outbox_table} ({columns}, handler, payload)
    SELECT {values}, h.handler, jsonb_build_object('response_id', response.id)
    FROM response, unnest(%(outbox_handlers)s::text[]) AS h(handler)
)"""


def _outbox_columns(now: datetime.datetime) -> tuple[str, str, dict[str, Any]]:
    """The outbox row's columns other than its id, handler and payload, with their values as
    a new OutboxMessage has them (NULLs left out): (columns, values, params)."""
    template = OutboxMessage(event=COMPLETED_EVENT, available_at=now, created_at=now)
    columns, values, params = [], [], {}
    for field in OutboxMessage._meta.concrete_fields:
        if field.primary_key or field.attname in ("handler", "payload"):
            continue
        value = field.get_db_prep_save(getattr(template, field.attname), connection)
        if value is None:
            continue
        name = f"outbox_{field.attname}"
        columns.append(connection.ops.quote_name(field.column))
        values.append(f"CAST(%({name})s AS {field.db_type(connection)})")
        params[name] = value
    return ", ".join(columns), ", ".join(values), params


def submit_named(
    *,
    invitation: Invitation,
    survey: Survey,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None,
    language: str,
    user_agent: str,
) -> Response | None:
    """Complete the response of a named `invitation` in one statement and owe its
    `response.completed`; None when the invitation was answered before (nothing is written).

    `user_agent` comes cut to the column's length. Returns the response with only its id loaded.
    """
    now = timezone.now()
    rows, emptied = answer_changes(questions, values)
    dropped = emptied + hidden_answered(questions, values, earlier, invitation.data)
    handlers = list(handlers_table()[COMPLETED_EVENT])
    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (
            ("invitation", Invitation),
            ("response", Response),
            ("answer", Answer),
            ("event", TouchpointEvent),
            ("membership", Membership),
            ("outbox_table", OutboxMessage),
        )
    }
    params: dict[str, Any] = {
        "state": InvitationState.RESPONDED.value,
        "now": now,
        "day": timezone.localdate(now),
        "invitation_id": invitation.pk,
        "survey_id": survey.pk,
        "audience_id": survey.audience_id,
        "event_id": invitation.event_id,
        "touchpoint_id": survey.touchpoint_id,
        "person_id": invitation.person_id,
        "channel": invitation.channel,
        "language": language,
        "user_agent": user_agent,
        "version": survey.version,
        "data": json.dumps(invitation.data or {}),
        "answers": json.dumps([{"question_id": q.pk, **columns} for q, columns in rows]),
        "dropped": dropped,
        "outbox_handlers": handlers,
    }
    outbox = ""
    if handlers:
        columns, outbox_values, outbox_params = _outbox_columns(now)
        outbox = _SUBMIT_NAMED_OUTBOX_SQL.format(columns=columns, values=outbox_values, **tables)
        params |= outbox_params
    sql = _SUBMIT_NAMED_SQL.format(
        dropped=_SUBMIT_NAMED_DROPPED_SQL.format(**tables) if dropped else "",
        outbox=outbox,
        **tables,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    if handlers:
        # As outbox_emit does: the relay is woken after the commit (at once in autocommit).
        transaction.on_commit(outbox_wake, robust=True)
    return Response.from_db(connection.alias, ["id"], [found[0]])
