"""The weekly report e-mail: a subscription per user (off until they switch it on), the report's
data (`selectors`, reads only), the send (`services`: claim the week, then mail), its beat task,
the "My weekly report" page in the admin and the one-click unsubscribe page.

Models are tables of the metrics app (app label `metrics`), imported by `metrics.models`.
"""
