"""The response-alerts reconciler is gone (response rules run from the outbox): its stored beat
entry goes too, or django-celery-beat would keep sending a task no worker knows."""

from django.db import migrations


def drop_reconciler_entry(apps, schema_editor):  # noqa: ANN001, ANN201
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    task.objects.filter(name="metrics-response-alerts-reconcile").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0009_released_reads_rollup_state"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(drop_reconciler_entry, migrations.RunPython.noop)]
