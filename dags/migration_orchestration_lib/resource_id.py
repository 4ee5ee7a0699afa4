"""ARM resource ids: the one parser for plan targets, the migration service and the Data Factory."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

RESOURCE_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/(?P<namespace>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResourceId:
    subscription_id: str
    resource_group: str
    resource_type: str  # namespace/type, lower case
    name: str
    value: str

    @staticmethod
    def parse(value: str, resource_type: Optional[str] = None) -> Optional["ResourceId"]:
        """The parts of a top-level resource's id, or None when `value` is not one (of `resource_type`, any case)."""
        match = RESOURCE_ID_PATTERN.match(value or "")
        if not match:
            return None
        parsed = ResourceId(
            subscription_id=match.group("subscription"),
            resource_group=match.group("resource_group"),
            resource_type=("%s/%s" % (match.group("namespace"), match.group("type"))).lower(),
            name=match.group("name"),
            value=value,
        )
        return parsed if resource_type is None or parsed.resource_type == resource_type.lower() else None


def comparable_id(value: str) -> str:
    """An ARM id to compare: ARM ids are case-insensitive, and DMS returns some without their leading
    slash (`scope` in the recorded examples)."""
    return "/" + value.strip("/").lower()
