from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _plan_for_events(event_ids: list[int]) -> None:
    """Journeys tells us about new events after commit; planning runs as a short task."""
    from surveys.tasks import plan_events_task

    plan_events_task.delay(list(event_ids))


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from journeys.hooks import register_event_listener

        register_event_listener(_plan_for_events)
