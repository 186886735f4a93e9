"""A starting list of root causes, so a case can be closed on a fresh install (editable)."""

from django.db import migrations

DEFAULT_ROOT_CAUSES = (
    "Product or service quality",
    "Delivery and logistics",
    "Price and billing",
    "Staff behaviour",
    "Waiting time",
    "Process or policy",
    "Communication",
    "Not actionable",
)


def add_root_causes(apps, schema_editor):  # noqa: ANN001, ANN201
    RootCause = apps.get_model("metrics", "RootCause")
    for name in DEFAULT_ROOT_CAUSES:
        RootCause.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_alert_mail_window")]

    operations = [migrations.RunPython(add_root_causes, migrations.RunPython.noop)]
