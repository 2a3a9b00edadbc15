"""Who acts and from where: built from an HTTP request (or given by a command) and passed into
every service, for the audit log and rate limits."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    """Who acts and from where: passed from views and API handlers into services."""

    ip_address: str = ""
    channel: str = ""
    device: str = ""
    actor: str = "member"
    extra: dict[str, Any] = field(default_factory=dict)


SYSTEM = RequestContext(actor="system", channel="system")
