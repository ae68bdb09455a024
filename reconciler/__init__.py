"""bosun: a declarative GitOps reconciler for Docker and Podman hosts."""

__version__ = "0.1.0"
