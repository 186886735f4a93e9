from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _evaluate_response(response_id: int) -> None:
    """Surveys tells us after commit that a response was completed; rules run as a task."""
    from metrics.tasks import response_alerts_task

    response_alerts_task.delay(response_id)


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from surveys.hooks import register_response_listener

        register_response_listener(_evaluate_response)
