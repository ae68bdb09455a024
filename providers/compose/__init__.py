"""The compose provider: Stacks on Docker and Podman hosts (and Docker Swarm).

Registered as ``compose`` in the ``bosun.providers`` entry-point group. See
``provider.py`` for how its modules fit together.
"""

from providers.compose.provider import ComposeProvider

__all__ = ["ComposeProvider"]
