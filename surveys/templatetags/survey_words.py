"""The language of a hosted page's own words, where it differs from the page's.

A survey in a language the platform has no catalogue for (de, ar, ku …) shows its own texts in
that language and the page's words (buttons, progress, errors, footer) in the fallback
catalogue's, English: those elements say so with a lang attribute, so that screen readers
read them in the right voice.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from surveys.hosted.languages import FALLBACK_LANGUAGE, has_catalogue

register = template.Library()


@register.simple_tag(takes_context=True)
def words_lang(context: template.Context) -> SafeString | str:
    """' lang="en"' when the page's language has no catalogue of the page's words, else ''."""
    language = str(context.get("language") or "")
    if not language or has_catalogue(language):
        return ""
    return format_html(' lang="{}"', FALLBACK_LANGUAGE)
