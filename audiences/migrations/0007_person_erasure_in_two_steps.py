"""A person's erasure in two steps (`Person.erased_at` marks the emptied row until every app has
erased what it holds; its completion is audited), and the retention's beat row under its new
name: the old one is removed, its task is gone (beat creates `people-retention` itself)."""

from django.db import migrations, models


def drop_old_retention_entry(apps, schema_editor):  # noqa: ANN001, ANN201
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    task.objects.filter(name="audiences-responses-retention").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0006_audit_invitation_requested'),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name='person',
            name='erased_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='erased'),
        ),
        migrations.AlterField(
            model_name='auditlog',
            name='action',
            field=models.CharField(choices=[('responses_viewed', 'Viewed responses'), ('responses_exported', 'Exported responses'), ('person_exported', "Exported a person's data"), ('person_erased', 'Erased a person'), ('person_erasure_completed', "Completed a person's erasure"), ('grant_added', 'Granted access'), ('grant_changed', 'Changed access'), ('grant_removed', 'Removed access'), ('consent_changed', 'Changed consent'), ('invitation_requested', 'Requested an invitation to an anonymous survey')], max_length=24, verbose_name='action'),
        ),
        migrations.RunPython(drop_old_retention_entry, migrations.RunPython.noop),
    ]
