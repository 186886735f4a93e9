"""Template filters for the distribution admin pages."""

from django.template import Library

from surveys.distribution.fatigue import reason_label

register = Library()


@register.filter(name="reason_label")
def reason_label_filter(reason: str) -> str:
    """`{{ reason|reason_label }}`: the translated name of a suppression or deferral reason."""
    return reason_label(reason)
