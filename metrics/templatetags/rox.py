"""{% rox_table rox as table %}: Return on Experience laid out for its include (columns in
order, the promoters-against-detractors figures with their labels and units)."""

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

COLUMNS = (
    ("promoter", _("Promoters")),
    ("passive", _("Passives")),
    ("detractor", _("Detractors")),
    ("all", _("All answers")),
)


@register.simple_tag
def rox_table(rox: dict[str, Any]) -> dict[str, Any]:
    """The columns (promoters, passives, detractors, all answers: their figures with their
    key and label) and the differences, each {label, value, margin, significant, unit,
    digits}; none when they are withheld."""
    difference = rox.get("difference") or {}
    currency = rox.get("currency", "")
    labelled = (
        ("retention", _("Retention"), _(" pp"), "1"),
        ("referral", _("Referred a purchase"), _(" pp"), "1"),
        ("spend", _("Mean spend"), f" {currency}", "0g"),
    )
    differences = [
        {**difference[key], "label": label, "unit": unit, "digits": digits}
        for key, label, unit, digits in labelled
        if difference.get(key)
    ]
    columns = [{**rox.get(key, {}), "key": key, "label": label} for key, label in COLUMNS]
    return {"columns": columns, "differences": differences}
