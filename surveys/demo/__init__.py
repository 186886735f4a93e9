"""Demo surveys, invitations and responses, and their distribution, for `seed_demo`.

Live surveys are created from the catalogue for each demo audience present. For most, a share
of the audience's members gets an invitation and most of those a completed response over the
last 90 days. The employee pulse is what its wave rule ("Quarterly employee pulse") does: every
current employee is invited at each of the last three quarterly runs (09:00 on the first day of
January, April, July and October, in hourly batches) and about two in three answer within the
fortnight the invitation lasts. Scores differ by segment, touchpoint, question and wave, so the
dashboards have something to show; comments are the survey's own (customers write about
orders, employees about workload, managers, growth, tools…), in the respondent's language.
A store's climate (audiences.demo.STORES) moves both its employees' and its customers' scores.

The relationship NPS tells a story (surveys.demo.story): delivery, support and price ratings
make the score with known weights, a late delivery or an unresolved support request in the
30 days before answering pulls it down, the main reason and the comment follow it, and what
happens after answering differs by category (promoters buy, spend and refer more, detractors
leave). Checkout comments take the tone of their CSAT answer. Members who have left since were
invited before they left, so leaving is among what follows an answer.
Every seeded invitation was planned before it was due and sent, and every one that reached
someone has its contact-ledger entry, as the sending path would have written it, so the
fatigue guard and report see the history.

Anonymous surveys' responses are stored as the hosted pages store them (surveys.periods): on
their reporting period's first day (the pulse: its wave's, from the run day until its
invitations expire), without times, under random ids, and released in batches of at least the
anonymity threshold, the periods already over published.

`seed_distribution` then adds fatigue policies and distribution rules (two touchpoint
triggers, two scheduled waves; the pulse's wave records the runs seeded here and names its
invitations) and plans the relationship wave once through the real planner: planned
invitations wait for `dispatch_due`, suppressed ones name their rule. Everything is written
with bulk inserts; re-running creates nothing twice.
"""

from surveys.demo.distribution import seed_distribution
from surveys.demo.responses import published_on_time, seed_surveys
from surveys.demo.specs import DEMO_SURVEYS, DemoSurvey, wave_runs
from surveys.demo.texts import EMPLOYEE_TEXTS, TEXTS

__all__ = [
    "DEMO_SURVEYS",
    "EMPLOYEE_TEXTS",
    "TEXTS",
    "DemoSurvey",
    "published_on_time",
    "seed_distribution",
    "seed_surveys",
    "wave_runs",
]
