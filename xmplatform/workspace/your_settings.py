"""Your settings: the time zone the admin shows dates and times in (the browser's, or one
chosen from the IANA list) and the language it speaks, for the signed-in user only."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from xmplatform.core.user_settings import UnknownTimeZone, user_time_zone, user_time_zone_set
from xmplatform.core.viewer_zone import browser_zone, known_zones, remember_chosen_zone

BROWSER = "browser"
CHOSEN = "chosen"
# The regions of the IANA list offered; the rest are old aliases (Turkey, US/Eastern), which are
# still accepted when typed.
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@cache
def _offered() -> tuple[str, ...]:
    names = (name for name in known_zones() if name.split("/", 1)[0] in REGIONS)
    return ("UTC", *sorted(names))


def zone_options(now: dt.datetime) -> list[tuple[str, str]]:
    """Each offered zone with its offset from UTC at `now` (e.g. "UTC+03:00")."""
    options = []
    for name in _offered():
        offset = now.astimezone(zoneinfo.ZoneInfo(name)).strftime("%z")
        options.append((name, f"UTC{offset[:3]}:{offset[3:]}"))
    return options


class TimeZoneForm(forms.Form):
    """The browser's time zone, or one named from the IANA list."""

    follow = forms.ChoiceField(
        label=_("Show dates and times in"),
        choices=[(BROWSER, _("Your browser's time zone")), (CHOSEN, _("This time zone"))],
        widget=forms.RadioSelect,
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "list": "xm-zones",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": _("Type a city, e.g. Istanbul"),
            }
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = cleaned.get("time_zone", "")
        if cleaned.get("follow") != CHOSEN:
            return cleaned
        if not name:
            self.add_error("time_zone", _("Pick a time zone from the list, e.g. Europe/Istanbul."))
        elif name not in known_zones():
            self.add_error(
                "time_zone",
                _(
                    "“%(name)s” is not a time zone we know. Pick one from the list, "
                    "e.g. Europe/Istanbul."
                )
                % {"name": name},
            )
        return cleaned


def your_settings(request: HttpRequest) -> HttpResponse:
    """Any staff user, for themselves only. A GET reads; only the form's POST writes."""
    user: Any = request.user  # a staff user: admin_view let the request in
    saved = user_time_zone(user_id=user.pk)
    initial = {"follow": CHOSEN if saved else BROWSER, "time_zone": saved}
    form = TimeZoneForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["time_zone"] if form.cleaned_data["follow"] == CHOSEN else ""
        try:
            user_time_zone_set(user_id=user.pk, time_zone=name)
        except UnknownTimeZone:  # the form checked the name: only a changed IANA database
            form.add_error("time_zone", _("This time zone is no longer known; pick another."))
        else:
            remember_chosen_zone(request.session, name)
            if name:
                messages.success(request, _("Dates and times are now shown in %s.") % name)
            else:
                messages.success(
                    request, _("Dates and times are now shown in your browser's time zone.")
                )
            return redirect("your_settings")
    language = translation.get_language_info(
        translation.get_supported_language_variant(translation.get_language())
    )
    browser = browser_zone(request)
    now = timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": _("Your settings"),
        "form": form,
        "zones": zone_options(now),
        "browser_zone": str(browser) if browser else "",
        "default_zone": settings.TIME_ZONE,
        "shown_zone": timezone.get_current_timezone_name(),
        "now": now,
        "language": language,
    }
    return render(request, "workspace/your_settings.html", context)
