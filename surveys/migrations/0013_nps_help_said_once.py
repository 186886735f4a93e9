"""NPS questions made from the catalogue lose the help text that only repeated the scale's end
labels ("0 = not at all likely, 10 = extremely likely"): the hosted page labels the ends under
the scale, so they were said twice. A help text anyone wrote or changed is kept."""

from django.db import migrations

OLD_CATALOGUE_HELP = {
    "en": "0 = not at all likely, 10 = extremely likely",
    "tr": "0 = hiç olası değil, 10 = son derece olası",
}


def drop_repeated_ends(apps, schema_editor):  # noqa: ANN001, ANN201
    Question = apps.get_model("surveys", "Question")
    repeated = [
        pk
        for pk, help_text in Question.objects.filter(type="nps").values_list("pk", "help")
        if help_text
        and isinstance(help_text, dict)
        and all(OLD_CATALOGUE_HELP.get(lang) == text for lang, text in help_text.items())
    ]
    Question.objects.filter(pk__in=repeated).update(help={})


class Migration(migrations.Migration):
    dependencies = [("surveys", "0012_invitation_reminder_marks")]

    operations = [migrations.RunPython(drop_repeated_ends, migrations.RunPython.noop)]
