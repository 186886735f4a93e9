"""The closed loop: alert rules raise alerts, alerts open follow-up cases, and people are told.

By topic: `models` (rules, alerts, cases, notes, digests), `response_rules` (a completed
response against its audience's response rules), `score_rules` (the periodic check of scores),
`alerts` (opening an alert with its case), `cases` (working a case), `notifications` (the
immediate e-mail and the daily digest), `handlers` (what the outbox relays to the loop) and
`selectors` (the case figures of the dashboard).

Exactly-once is the database's job. One alert per rule × response and one alert per rule ×
cooldown window are unique constraints, and a case is one-to-one with its alert, so a response
evaluated twice or a beat run twice finds the row taken and does nothing. Side effects go
through the outbox (xmplatform/flows.py): a completed response reaches the response rules as
`response.completed`; opening an alert writes `alert.opened` and changing a case writes
`case.changed`, each in the transaction of the change. E-mail is claimed with a conditional
UPDATE (immediate alerts) or by inserting the user's digest row for the day, and the claim
commits before the mail server is contacted: a crash costs a visible "claimed, not sent" state,
never a second e-mail.

Privacy: responses to anonymous surveys are never evaluated one by one: their answers (and so
their free text) never reach a rule, an alert, a case or an e-mail. Score rules see them only
in aggregate: answers of published (ended) reporting periods (metrics.privacy), above the
anonymity threshold; response rate rules count an anonymous survey's invitations as the
dashboard does (published periods). A respondent who answered "no" to the survey's
`may_contact` question gets a case marked "do not contact".
"""
