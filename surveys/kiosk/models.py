"""Kiosk devices of public links and the submissions each has had accepted.

Part of the surveys app (its tables and migrations); `surveys.models` imports them. PublicLink
and Response are named by string, so this module imports nothing of `surveys.models`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class KioskDevice(models.Model):
    """A tablet registered to take many responses on one public link, by its device token."""

    public_link = models.ForeignKey(
        "surveys.PublicLink",
        on_delete=models.CASCADE,
        related_name="kiosk_devices",
        verbose_name=_("public link"),
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Where the device stands, e.g. “Lobby tablet”.")
    )
    # A keyed hash of the device token (surveys.tokens.keyed_hash): the token itself is shown
    # once, in its setup link, and lives only in the device's cookie.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("kiosk device")
        verbose_name_plural = _("kiosk devices")

    def __str__(self) -> str:
        return self.name


class KioskSubmission(models.Model):
    """A submission key a kiosk device has had accepted: the same key again is a replay.

    No time is kept, and for an anonymous survey no response either: nothing ties a device to
    an anonymous answer or says when it was given.
    """

    device = models.ForeignKey(
        KioskDevice,
        on_delete=models.CASCADE,
        related_name="submissions",
        verbose_name=_("kiosk device"),
    )
    key = models.CharField(_("submission key"), max_length=64)
    response = models.ForeignKey(
        "surveys.Response",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kiosk_submissions",
        verbose_name=_("response"),
    )

    class Meta:
        verbose_name = _("kiosk submission")
        verbose_name_plural = _("kiosk submissions")
        constraints = [
            models.UniqueConstraint(fields=["device", "key"], name="kiosk_submission_once"),
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.key}"
