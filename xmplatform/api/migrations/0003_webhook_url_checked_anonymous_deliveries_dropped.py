"""Webhook URLs are checked (http(s), public addresses only); anonymous surveys send no
`response.completed` any more, so the deliveries already logged for their responses are
dropped: their payloads carry the precise time each answer came in."""

from django.db import migrations, models
from django.db.models import Q

import xmplatform.api.destinations


def drop_anonymous_response_deliveries(apps, schema_editor):
    Delivery = apps.get_model("api", "WebhookDelivery")
    Response = apps.get_model("surveys", "Response")
    Survey = apps.get_model("surveys", "Survey")
    anonymous_surveys = list(Survey.objects.filter(anonymous=True).values_list("pk", flat=True))
    if not anonymous_surveys:
        return
    # By response, and by the survey the payload names (for responses deleted since).
    Delivery.objects.filter(event="response.completed").filter(
        Q(object_id__in=Response.objects.filter(survey__in=anonymous_surveys).values("pk"))
        | Q(payload__data__survey__in=anonymous_surveys)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_webhook_delivery_person"),
        ("surveys", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="url",
            field=models.URLField(
                max_length=500,
                validators=[xmplatform.api.destinations.WebhookUrlValidator()],
                verbose_name="URL",
            ),
        ),
        migrations.RunPython(drop_anonymous_response_deliveries, migrations.RunPython.noop),
    ]
