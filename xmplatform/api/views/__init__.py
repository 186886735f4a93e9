"""API v1 views by resource: thin callers of the domain services and of this layer's
selectors and operations. `xmplatform.api.urls` routes to the names below."""

from xmplatform.api.views.audiences import AudienceDetailView, AudienceListView
from xmplatform.api.views.base import not_found
from xmplatform.api.views.distribution_rules import DistributionRuleListView
from xmplatform.api.views.drivers import DriversView
from xmplatform.api.views.events import EventsView
from xmplatform.api.views.invitations import InvitationListView
from xmplatform.api.views.journeys import JourneyDetailView, JourneyListView
from xmplatform.api.views.people import PeopleView, PersonDetailView, PersonExportView
from xmplatform.api.views.responses import ResponsesView, SurveyResponsesView
from xmplatform.api.views.scores import ScoresView
from xmplatform.api.views.surveys import SurveyDetailView, SurveyListView
from xmplatform.api.views.topics import TopicsView
from xmplatform.api.views.units import ExCxView

__all__ = [
    "AudienceDetailView",
    "AudienceListView",
    "DistributionRuleListView",
    "DriversView",
    "EventsView",
    "ExCxView",
    "InvitationListView",
    "JourneyDetailView",
    "JourneyListView",
    "PeopleView",
    "PersonDetailView",
    "PersonExportView",
    "ResponsesView",
    "ScoresView",
    "SurveyDetailView",
    "SurveyListView",
    "SurveyResponsesView",
    "TopicsView",
    "not_found",
]
