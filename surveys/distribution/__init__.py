"""Distribution: planning invitations (triggers, waves), the fatigue guard, sending exactly once
through the channels, reminders and invitations on request."""
