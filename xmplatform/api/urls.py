"""API v1 routes, the OpenAPI schema and its browsable docs (mounted at /api/)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from xmplatform.api import views

app_name = "api"
urlpatterns = [
    path("v1/audiences/", views.AudienceListView.as_view(), name="audiences"),
    path("v1/audiences/<slug:slug>/", views.AudienceDetailView.as_view(), name="audience"),
    path("v1/people/", views.PeopleView.as_view(), name="people"),
    # External ids may hold slashes ("crm/42"): the export route is matched first.
    path(
        "v1/people/<path:external_id>/export/",
        views.PersonExportView.as_view(),
        name="person-export",
    ),
    path("v1/people/<path:external_id>/", views.PersonDetailView.as_view(), name="person"),
    path("v1/events/", views.EventsView.as_view(), name="events"),
    path("v1/invitations/", views.InvitationListView.as_view(), name="invitations"),
    path("v1/surveys/", views.SurveyListView.as_view(), name="surveys"),
    path("v1/surveys/<int:survey_id>/", views.SurveyDetailView.as_view(), name="survey"),
    path(
        "v1/surveys/<int:survey_id>/responses/",
        views.SurveyResponsesView.as_view(),
        name="survey-responses",
    ),
    path("v1/journeys/", views.JourneyListView.as_view(), name="journeys"),
    path("v1/journeys/<int:journey_id>/", views.JourneyDetailView.as_view(), name="journey"),
    path(
        "v1/distribution-rules/",
        views.DistributionRuleListView.as_view(),
        name="distribution-rules",
    ),
    path("v1/responses/", views.ResponsesView.as_view(), name="responses"),
    path("v1/scores/", views.ScoresView.as_view(), name="scores"),
    path("v1/drivers/", views.DriversView.as_view(), name="drivers"),
    path("v1/topics/", views.TopicsView.as_view(), name="topics"),
    path("v1/ex-cx/", views.ExCxView.as_view(), name="ex-cx"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
