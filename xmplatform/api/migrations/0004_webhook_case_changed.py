"""`case.changed` webhooks (each change of a case is its own delivery), and first attempts owed
through the outbox: deliveries an earlier version logged and never attempted get a `webhook.due`
row (their Celery task may be lost), and the alert reconciler's beat row is removed."""

from django.db import migrations, models

DUE_HANDLER = "xmplatform.api.handlers.webhook_due_handler"
CHUNK = 100


def owe_first_attempts(apps, schema_editor):  # noqa: ANN001, ANN201
    delivery = apps.get_model("api", "WebhookDelivery")
    message = apps.get_model("core", "OutboxMessage")
    ids = list(
        delivery.objects.filter(state="pending", attempts=0)
        .order_by("id")
        .values_list("id", flat=True)
    )
    message.objects.bulk_create(
        message(
            event="webhook.due", handler=DUE_HANDLER, payload={"delivery_ids": ids[i : i + CHUNK]}
        )
        for i in range(0, len(ids), CHUNK)
    )


def drop_alert_reconciler_entry(apps, schema_editor):  # noqa: ANN001, ANN201
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    task.objects.filter(name="api-webhooks-alerts-reconcile").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_webhook_url_checked_anonymous_deliveries_dropped"),
        ("audiences", "0006_audit_invitation_requested"),
        ("core", "0001_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="webhookdelivery",
            name="webhook_delivery_once",
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="change",
            field=models.BigIntegerField(default=0, editable=False, verbose_name="change"),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.CharField(
                choices=[
                    ("response.completed", "Response completed"),
                    ("alert.opened", "Alert opened"),
                    ("case.changed", "Case changed"),
                ],
                max_length=64,
                verbose_name="event",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(
                fields=("webhook", "event", "object_id", "change"), name="webhook_delivery_once"
            ),
        ),
        migrations.RunPython(owe_first_attempts, migrations.RunPython.noop),
        migrations.RunPython(drop_alert_reconciler_entry, migrations.RunPython.noop),
    ]
