"""Caddy provider: Gateways and Routes on Caddy's admin API, and bosun's own Caddy.

Modules, in the order of a reconcile: ``client`` (admin API on httpx),
``embedded`` (bosun's own Caddy), ``supervisor`` (keeps it alive), ``upstreams``
(containers -> dial addresses), ``auth`` (bcrypt accounts), ``ids`` and
``build`` (the objects bosun wants), ``config`` (those objects in and out of a
whole config), ``state`` (observe), ``views`` and ``planner`` (plan),
``applier`` (apply), ``health``.
"""

from providers.caddy.embedded import EmbeddedCaddy
from providers.caddy.provider import CaddyProvider
from providers.caddy.supervisor import Supervisor

__all__ = ["CaddyProvider", "EmbeddedCaddy", "Supervisor"]
