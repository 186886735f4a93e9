"""The weekly report's subscription: one row per user who has opened or set it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def default_language() -> str:
    """The site's language: users carry no language of their own."""
    return settings.LANGUAGE_CODE


class ReportSubscription(models.Model):
    """Whether one user gets the weekly report e-mail, in which language, and the last week sent.

    `last_sent_week` is the Monday of the last week whose report was claimed for this user; the
    sender claims a week with a conditional UPDATE before it contacts the mail server, so each
    user gets at most one report per week however many senders run. `last_sent_at` stays behind
    it when a sender died between the claim and the mail: a visible "claimed, not sent".
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="report_subscription",
        verbose_name=_("user"),
    )
    enabled = models.BooleanField(_("send me the weekly report"), default=False)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=default_language
    )
    last_sent_week = models.DateField(_("last week sent"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("weekly report subscription")
        verbose_name_plural = _("weekly report subscriptions")
        indexes = [
            # The sender's list: enabled subscriptions not yet sent this week.
            models.Index(
                fields=["last_sent_week"],
                condition=models.Q(enabled=True),
                name="report_sub_due",
            )
        ]

    def __str__(self) -> str:
        return str(self.user)
