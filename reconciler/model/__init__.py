"""bosun's data model: frozen pydantic models shared by every stage.

The model imports nothing else of bosun; stages and providers import it.
"""

from reconciler.model.common import (
    API_VERSION,
    Frozen,
    Kind,
    ResourceRef,
    SecretRef,
    duration_seconds,
)
from reconciler.model.desired import ComposeSource, DesiredResource, DesiredState
from reconciler.model.kinds import (
    KIND_MODELS,
    AnyDocument,
    DNSRecord,
    DNSZone,
    Document,
    Gateway,
    Host,
    Policy,
    Repository,
    Route,
    Schedule,
    Secret,
    Stack,
)
from reconciler.model.plan import (
    ApplyReport,
    Change,
    ChangeAction,
    ChangeOutcome,
    ChangeResult,
    FieldDiff,
    Plan,
    PlanError,
    PlanWarning,
    PolicyResult,
)
from reconciler.model.sensitive import REDACTED, Sensitive
from reconciler.model.source import Position, RawDocument, Revision
from reconciler.model.status import (
    Condition,
    ConditionType,
    Health,
    HealthState,
    HistoryEntry,
    ResourceStatus,
    Sync,
)

__all__ = [
    "API_VERSION",
    "KIND_MODELS",
    "REDACTED",
    "AnyDocument",
    "ApplyReport",
    "Change",
    "ChangeAction",
    "ChangeOutcome",
    "ChangeResult",
    "ComposeSource",
    "Condition",
    "ConditionType",
    "DNSRecord",
    "DNSZone",
    "DesiredResource",
    "DesiredState",
    "Document",
    "FieldDiff",
    "Frozen",
    "Gateway",
    "Health",
    "HealthState",
    "HistoryEntry",
    "Host",
    "Kind",
    "Plan",
    "PlanError",
    "PlanWarning",
    "Policy",
    "PolicyResult",
    "Position",
    "RawDocument",
    "Repository",
    "ResourceRef",
    "ResourceStatus",
    "Revision",
    "Route",
    "Schedule",
    "Secret",
    "SecretRef",
    "Sensitive",
    "Stack",
    "Sync",
    "duration_seconds",
]
