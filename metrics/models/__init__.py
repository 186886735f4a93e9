"""The metrics app's models, by topic: rollups (`metrics.models.rollups`), the closed loop
(`metrics.closedloop.models`) and the weekly report (`metrics.reports.models`). Tables and the
app label are the app's own (`metrics_*`)."""

from metrics.closedloop.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    RESPONSE_CONDITIONS,
    Alert,
    AlertDigest,
    AlertRule,
    Case,
    CaseNote,
    CaseStatus,
    NotifyMode,
    RootCause,
    RuleCondition,
    RuleKind,
    ScoreMetric,
)
from metrics.models.rollups import (
    AnswerOutcome,
    DailyOutcome,
    DailyRollup,
    EventDay,
    OperationsSnapshot,
    RollupState,
    Verbatim,
)
from metrics.reports.models import ReportSubscription

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "RESPONSE_CONDITIONS",
    "Alert",
    "AlertDigest",
    "AlertRule",
    "AnswerOutcome",
    "Case",
    "CaseNote",
    "CaseStatus",
    "DailyOutcome",
    "DailyRollup",
    "EventDay",
    "NotifyMode",
    "OperationsSnapshot",
    "ReportSubscription",
    "RollupState",
    "RootCause",
    "RuleCondition",
    "RuleKind",
    "ScoreMetric",
    "Verbatim",
]
