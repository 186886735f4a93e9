"""The one schedule of periodic tasks (synced into django-celery-beat's tables).

Each entry says why it runs and carries an `expires` so a backlog never piles up.
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    # The outbox (xmplatform.core.outbox): every side effect between apps is a row written with
    # the change; the relay is woken after each commit, and this relays whatever a lost wake
    # (broker down) or a worker that died left, and prunes rows done a week ago.
    "core-outbox-sweep": {
        "task": "core.outbox_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Scores read the days up to the rollups' watermark from the rollups (later ones from the
    # answers): re-roll today and yesterday so the watermark reaches yesterday soon after
    # midnight, and catch up on days a stopped beat missed. Every rebuild takes the rollup
    # state's row lock, so two runs at once wait for each other and leave the same rows.
    "metrics-rollup-recent": {
        "task": "metrics.rollup_recent_task",
        "schedule": 600.0,
        "options": {"expires": 540, "queue": "bulk"},
    },
    # Anonymous surveys: a period's waiting responses are released once at least k wait (so
    # every figure moves in steps of k) and an ended period is published; the periods that
    # changed are rolled up in the same transaction, so a released batch counts within a minute.
    # It takes the rollup state's row lock first: a doubled run finds nothing left to release.
    "metrics-anonymous-periods-release": {
        "task": "metrics.anonymous_periods_release_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # The text pipeline (metrics.comments): free-text answers completed since the last run get
    # their stems, sentiment and topics, and topic alert rules fire; topics are refitted once a
    # question's comments grew by a fifth. A doubled run inserts nothing twice (ON CONFLICT).
    "comments-process": {
        "task": "comments.process_task",
        "schedule": 300.0,
        "options": {"expires": 290, "queue": "bulk"},
    },
    # Invitations carry due_at; this picks up what is due and fans out short batch tasks
    # (those planned due now are sent at once by the invitation.due outbox handler). Two beats
    # are harmless: batches claim with SKIP LOCKED, so a doubled fan-out finds nothing left.
    "surveys-dispatch-due": {
        "task": "surveys.dispatch_due_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # A worker killed mid-send leaves rows in "sending": they become "delivery unknown".
    "surveys-reconcile-sending": {
        "task": "surveys.reconcile_sending_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Privacy: responses (and their cases) older than their audience's retention lose their
    # personal links. Daily is enough (retention is counted in months); a missed day is caught
    # up next time, and a doubled run changes nothing.
    "people-retention": {
        "task": "xmplatform.people_retention_task",
        "schedule": 86400.0,
        "options": {"expires": 3600, "queue": "bulk"},
    },
    # Key-driver analyses (metrics.drivers) are cached per survey, outcome and filters: this
    # recomputes, one bulk task each, those whose survey has responses completed (or anonymous
    # periods published) since, so a cached analysis is at most minutes behind; computes the
    # all-time analysis the weekly report reads for outcome questions that have none (20 a
    # run); forgets filtered ones first asked for over 30 days ago. A recompute is an upsert
    # with a fixed bootstrap seed: a doubled run stores the same row.
    "drivers-refresh-stale": {
        "task": "drivers.refresh_stale_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Reminders to people who have not answered (never after a response, opt-out or expiry);
    # each is claimed and counted before it is sent, so a doubled tick reminds nobody twice.
    "surveys-send-reminders": {
        "task": "surveys.send_reminders_task",
        "schedule": 900.0,
        "options": {"expires": 840, "queue": "bulk"},
    },
    # Score alert rules (a touchpoint's NPS below X, a drop beyond the margin, response rate);
    # the DB allows one alert per rule and cooldown window, so a late or doubled run is harmless.
    # (Response rules and immediate alert e-mails run from the outbox, not from beat.)
    "metrics-score-rules": {
        "task": "metrics.score_rules_evaluate_task",
        "schedule": 900.0,
        "options": {"expires": 840},
    },
    # One digest of score alerts per user per day (the digest row is the claim, unique per user
    # and day, so a doubled run sends nothing more), in the morning.
    "metrics-alert-digests": {
        "task": "metrics.alert_digests_task",
        "schedule": crontab(hour=6, minute=0),
        "options": {"expires": 3 * 3600},
    },
    # The weekly report e-mail, Monday 07:00 (CELERY_TIMEZONE, the site's TIME_ZONE): each
    # subscriber's week is claimed on their row before the mail goes out, so a doubled or
    # redelivered run sends nobody a second report; a refused mail is retried by the task.
    "metrics-weekly-reports": {
        "task": "metrics.weekly_reports_task",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
        "options": {"expires": 6 * 3600, "queue": "bulk"},
    },
    # The backoff schedule of webhook posts: a delivery whose post failed waits for its
    # next_attempt_at, as does one whose worker died mid-post (until its lease ends); this
    # enqueues those that are due. First attempts are owed by the outbox (webhook.due).
    "api-webhooks-retry-due": {
        "task": "api.webhooks_retry_due_task",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
}
