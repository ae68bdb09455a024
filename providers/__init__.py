"""First-party providers: compose (Docker/Podman), caddy, dns, scheduler, memory."""
