"""The metrics app's models, by topic: rollups (`metrics.models.rollups`) and the closed loop
(`metrics.closedloop.models`). Tables and the app label are the app's own (`metrics_*`)."""

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
    "RollupState",
    "RootCause",
    "RuleCondition",
    "RuleKind",
    "ScoreMetric",
    "Verbatim",
]
