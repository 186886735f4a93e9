"""The writes behind the hosted survey pages and the API's responses, by topic.

- invitations: created with their token, their URL, their first opening;
- lookups: an invitation by its token and a survey's questions (hand-written SQL);
- answers: typed answer values and their set-based writes;
- responses: who is answering, availability, and `response_answer`, the one completion;
- named_submit: a named invitation's completion on PostgreSQL in one statement.

The names below are the package's interface; callers import them from `surveys.services`.
"""

from surveys.services.answers import answer_value, answers_load
from surveys.services.invitations import (
    invitation_create,
    invitation_mark_opened,
    invitation_url,
)
from surveys.services.lookups import invitation_for_token, survey_questions
from surveys.services.responses import (
    ANONYMOUS_IDS,
    AlreadyResponded,
    Progress,
    Respondent,
    SurveyFull,
    SurveyUnavailable,
    Unavailable,
    anonymous_response_id,
    new_browser_id,
    response_answer,
    response_check,
    response_find,
    response_progress,
    response_save_page,
    response_start,
)

__all__ = [
    "ANONYMOUS_IDS",
    "AlreadyResponded",
    "Progress",
    "Respondent",
    "SurveyFull",
    "SurveyUnavailable",
    "Unavailable",
    "anonymous_response_id",
    "answer_value",
    "answers_load",
    "invitation_create",
    "invitation_for_token",
    "invitation_mark_opened",
    "invitation_url",
    "new_browser_id",
    "response_answer",
    "response_check",
    "response_find",
    "response_progress",
    "response_save_page",
    "response_start",
    "survey_questions",
]
