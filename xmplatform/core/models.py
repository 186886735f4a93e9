"""The outbox: one durable row per side effect that crosses an app boundary; and each admin
user's own settings."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    DEAD = "dead", _("Dead letter")


class OutboxMessage(models.Model):
    """A side effect owed to one handler, written in the transaction of the change causing it.

    `available_at` is when the relay may take the row next: its creation, the end of a
    claim's lease (a worker that died mid-handler), or the end of a failure's backoff.
    """

    event = models.CharField(_("event"), max_length=64)
    handler = models.CharField(_("handler"), max_length=200)
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(
        _("state"), max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The relay's claim: pending rows by due time (a small, hot partial index).
            models.Index(
                fields=["available_at", "id"],
                condition=Q(state="pending"),
                name="core_outbox_pending_due",
            ),
            # Dead letters for the admin, and pruning done rows by age.
            models.Index(fields=["state", "created_at"], name="core_outbox_state_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.handler} #{self.pk}"


class DeadLetterManager(models.Manager["DeadLetter"]):
    def get_queryset(self) -> models.QuerySet["DeadLetter"]:
        return super().get_queryset().filter(state=OutboxState.DEAD)


class DeadLetter(OutboxMessage):
    """An outbox row whose handler failed every attempt: it waits for an operator's retry."""

    objects = DeadLetterManager()

    class Meta:
        proxy = True
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")


class UserSettings(models.Model):
    """One admin user's own settings: the time zone the admin shows dates and times in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="xm_settings",
        verbose_name=_("user"),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("IANA name, e.g. Europe/Istanbul; empty: the browser's zone."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("user settings")
        verbose_name_plural = _("user settings")

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or '-'})"
