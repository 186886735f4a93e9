"""The weekly report on real Celery workers, PostgreSQL, Redis and an SMTP server: the task sent
three times at once (beat fired twice, a redelivery) to two workers mails each subscriber one
report, with its unsubscribe header."""

import time

import pytest

from audiences.models import Role
from metrics.models import ReportSubscription
from metrics.tasks import weekly_reports_task
from tests.metrics.test_reports_support import (
    NOW,
    WEEK,
    customers_with_two_weeks,
    grant,
    staff_user,
    subscribe,
)
from tests.support.workers import celery_workers, wait_until
from tests.surveys.distribution_factories import SmtpSink
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_three_runs_on_two_workers_mail_each_subscriber_once():
    world = customers_with_two_weeks()
    names = [f"user{i}" for i in range(6)]
    for name in names:
        user = staff_user(name)
        grant(user, world.audience, Role.VIEWER)
        subscribe(user, language="tr" if name.endswith(("1", "3")) else "en")

    with (
        SmtpSink() as sink,
        celery_workers(2, concurrency=2, extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}),
    ):
        for _run in range(3):
            weekly_reports_task.apply_async(args=[NOW.isoformat()], queue="bulk")
        assert wait_until(
            lambda: ReportSubscription.objects.filter(last_sent_at__isnull=False).count() == 6
        )
        time.sleep(3)  # a late duplicate would have arrived by now

    assert sorted(m["To"] for m in sink.messages) == sorted(f"{n}@example.com" for n in names)
    headers = ["".join(str(m["List-Unsubscribe"]).split()) for m in sink.messages]
    assert all(h.startswith("<http://") and "/reports/unsubscribe/" in h for h in headers), headers
    assert {m["List-Unsubscribe-Post"] for m in sink.messages} == {"List-Unsubscribe=One-Click"}
    assert set(ReportSubscription.objects.values_list("last_sent_week", flat=True)) == {WEEK}
