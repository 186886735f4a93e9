"""Where a respondent's answers live as they go through a survey's pages."""

from collections.abc import Mapping

from django.db import transaction
from django.http import HttpRequest

from surveys import services
from surveys.models import Question, Survey
from surveys.services import Progress, Respondent
from surveys.validation import AnswerValue


class Flow:
    """One respondent's way through a survey; subclasses say where answers are kept."""

    survey: Survey
    questions: list[Question]
    language: str
    action_url: str = ""
    optout_url: str = ""
    preview: bool = False
    # The response's hidden field values (surveys.hidden_fields): display logic and piping.
    data: Mapping[str, str] = {}  # noqa: RUF012 - never mutated, replaced per flow

    def load(self) -> dict[str, AnswerValue]:
        raise NotImplementedError

    def completed(self) -> bool:
        raise NotImplementedError

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        raise NotImplementedError

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        raise NotImplementedError


class FrameFlow(Flow):
    """Only a survey's page frame (title, language): a page that reads or writes no answer."""

    def __init__(self, survey: Survey, language: str) -> None:
        self.survey, self.language, self.questions = survey, language, []


class RecordedFlow(Flow):
    """An invitation or a public-link browser: answers are saved as the respondent goes."""

    def __init__(self, request: HttpRequest, respondent: Respondent, language: str) -> None:
        self.request = request
        self.respondent = respondent
        self.survey = respondent.survey
        self.questions = services.survey_questions(survey=self.survey)
        self.language = language
        self._response = services.response_find(respondent=respondent)
        self._answers: dict[str, AnswerValue] | None = None
        invitation = respondent.invitation
        if invitation is not None:
            self.data = invitation.data or {}
        elif self._response is not None:
            self.data = self._response.data or {}  # what the first save kept
        else:
            self.data = respondent.data or {}

    def load(self) -> dict[str, AnswerValue]:
        if self._answers is None:
            self._answers = (
                services.answers_load(response=self._response, questions=self.questions)
                if self._response is not None
                else {}
            )
        return dict(self._answers)

    def completed(self) -> bool:
        invitation = self.respondent.invitation
        if invitation is not None:
            return invitation.responded_at is not None
        return self._response is not None and self._response.completed_on is not None

    def _user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        with transaction.atomic():
            response = self._response or services.response_start(
                respondent=self.respondent, language=self.language, user_agent=self._user_agent()
            )
            services.response_save_page(response=response, questions=page_questions, values=values)

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        services.response_answer(
            respondent=self.respondent,
            questions=self.questions,
            values=values,
            language=self.language,
            user_agent=self._user_agent(),
            progress=Progress(response=self._response, answers=self.load()),
        )


class PreviewFlow(Flow):
    """Staff preview: answers live in the session; nothing reaches the database tables."""

    preview = True

    def __init__(self, request: HttpRequest, survey: Survey, language: str) -> None:
        self.request = request
        self.survey = survey
        self.questions = services.survey_questions(survey=survey)
        self.language = language
        self.key = f"surveys:preview:{survey.pk}"

    def load(self) -> dict[str, AnswerValue]:
        return dict(self.request.session.get(self.key, {}))

    def completed(self) -> bool:
        return False

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        self.request.session[self.key] = {**self.load(), **values}

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        self.request.session.pop(self.key, None)

    def restart(self) -> None:
        self.request.session.pop(self.key, None)
