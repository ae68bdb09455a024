"""Manifest kinds: one pydantic model per ``kind`` of ``bosun/v1``.

Part of the model layer. Each document is ``apiVersion``, ``kind``,
``metadata`` and ``spec``; ``Document`` is the union the loader validates
against, discriminated by ``kind``. Checks that need more than one document
(references, cycles, CNAME exclusivity) live in the resolve stage.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from reconciler.model.common import (
    Cron,
    Duration,
    Frozen,
    Kind,
    ListenAddress,
    Name,
    RouteHost,
    SecretRef,
    ServerAddress,
    TimeZone,
    ZoneName,
)
from reconciler.model.policy_schema import NOWHERE, ref_loop, resolve_ref, schema_refs


class Metadata(Frozen):
    name: Name
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


# -- Repository --------------------------------------------------------------


class StackDefaults(Frozen):
    host: Name = "local"
    pull: PullPolicy | None = None
    health_timeout: Duration | None = Field(default=None, alias="healthTimeout")


class RepositoryDefaults(Frozen):
    stack: StackDefaults = Field(default_factory=lambda: StackDefaults())


class RepositoryPolicies(Frozen):
    """How the repository uses policies: the built-in library, overrides, parameters."""

    builtin: bool = Field(
        default=True,
        description="Evaluate the built-in policy library (policies/README.md). "
        "Parameterised built-ins stay inactive until their parameter is set.",
    )
    disable: list[str] = Field(
        default_factory=list,
        description="Policy names or rule ids that are not evaluated.",
    )
    actions: dict[str, PolicyAction] = Field(
        default_factory=dict,
        description="Policy name or rule id -> enforce | warn, overriding the policy's action.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Policy parameters by name, e.g. allowedRegistries: [ghcr.io/acme].",
    )


class ForgeKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class RepositoryForge(Frozen):
    """Where pull-request plans and commit statuses are reported."""

    type: ForgeKind | None = Field(
        default=None, description="github | gitlab; default: the forge the webhook came from."
    )
    api: str | None = Field(
        default=None,
        description="REST API base URL (https://api.github.com, https://gitlab.example/api/v4); "
        "default: taken from the webhook payload.",
    )
    project: str | None = Field(
        default=None,
        description="GitHub owner/name or GitLab project id or path, for the bosun/apply "
        "status; default: the repository of the last pull request webhook.",
    )
    token: SecretRef | None = Field(
        default=None,
        description="The API token; default: BOSUN_GITHUB_TOKEN / BOSUN_GITLAB_TOKEN.",
    )


class RepositorySpec(Frozen):
    paths: list[str] = Field(
        default_factory=lambda: ["."],
        description="Folders (relative to the repository root) whose YAML files are read.",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Glob patterns of files that are not manifests."
    )
    owner: Name = Field(
        default="bosun",
        description="Ownership id written on everything bosun creates; prune touches only this.",
    )
    agent: Name | None = Field(
        default=None, description="This agent's name on the status branch (default: host name)."
    )
    status_branch: str = Field(default="bosun-status", alias="statusBranch", min_length=1)
    defaults: RepositoryDefaults = Field(default_factory=RepositoryDefaults)
    policies: RepositoryPolicies = Field(default_factory=lambda: RepositoryPolicies())
    forge: RepositoryForge | None = None


# -- Host ---------------------------------------------------------------------


class Engine(StrEnum):
    DOCKER = "docker"
    PODMAN = "podman"


class HostMode(StrEnum):
    COMPOSE = "compose"
    SWARM = "swarm"


ENGINE_URL_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")


class HostSpec(Frozen):
    engine: Engine = Engine.DOCKER
    url: str | None = Field(
        default=None,
        description="unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host; "
        "default: the engine's local socket.",
    )
    mode: HostMode = HostMode.COMPOSE

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ENGINE_URL_SCHEMES:
            raise ValueError(
                f"{value!r}: scheme must be one of {', '.join(ENGINE_URL_SCHEMES)}"
            )
        if parts.scheme == "unix" and not parts.path.startswith("/"):
            raise ValueError(f"{value!r}: a unix socket needs an absolute path")
        if parts.scheme in ("tcp", "ssh", "http", "https") and not parts.hostname:
            raise ValueError(f"{value!r}: needs a host")
        return value


# -- Stack --------------------------------------------------------------------


class StackState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    ABSENT = "absent"


class PullPolicy(StrEnum):
    ALWAYS = "always"
    MISSING = "missing"
    NEVER = "never"


class StackHealth(Frozen):
    timeout: Duration = "120s"


class Prune(Frozen):
    volumes: bool = False


EnvValue = Annotated[str | SecretRef, Field(description="A value, or {secret, key}.")]
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[
    str,
    StringConstraints(pattern=ENV_NAME_PATTERN),
    Field(description="An environment variable name."),
]


class StackSpec(Frozen):
    host: Name | None = Field(default=None, description="The Host it runs on (default: local).")
    compose: str | list[str] | dict[str, Any] = Field(
        description="Path(s) of compose files relative to this manifest's folder, "
        "or an inline compose mapping."
    )
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, description="Variables for compose interpolation."
    )
    profiles: list[str] = Field(default_factory=list)
    state: StackState = StackState.RUNNING
    depends_on: list[str] = Field(
        default_factory=list,
        alias="dependsOn",
        description="Resources applied before this one: a stack name or Kind/name.",
    )
    health: StackHealth = Field(default_factory=StackHealth)
    rollback: bool = True
    self_heal: bool = Field(default=True, alias="selfHeal")
    prune: Prune = Field(default_factory=Prune)
    pull: PullPolicy | None = Field(default=None, description="Default: missing.")

    @field_validator("compose")
    @classmethod
    def _compose(cls, value: str | list[str] | dict[str, Any]) -> str | list[str] | dict[str, Any]:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a compose file")
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one compose file")
        if isinstance(value, dict) and not isinstance(value.get("services"), dict):
            raise ValueError("an inline compose model needs a 'services' mapping")
        return value



# -- Gateway ------------------------------------------------------------------


class Issuer(StrEnum):
    ACME = "acme"
    INTERNAL = "internal"


class GatewayListen(Frozen):
    http: ListenAddress = ":80"
    https: ListenAddress = ":443"


class GatewayTLS(Frozen):
    issuer: Issuer = Issuer.ACME
    email: str | None = None
    ca: str | None = Field(
        default=None, description="ACME directory URL (default: Let's Encrypt)."
    )
    ca_root: str | None = Field(
        default=None, alias="caRoot", description="PEM file trusted for the ACME server."
    )


class GatewaySpec(Frozen):
    admin: str | None = Field(
        default=None,
        description="Caddy admin endpoint: unix:///path or http://host:port. "
        "Omitted: bosun starts and supervises its own Caddy.",
    )
    listen: GatewayListen = Field(default_factory=GatewayListen)
    tls: GatewayTLS = Field(default_factory=GatewayTLS)

    @field_validator("admin")
    @classmethod
    def _admin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "unix":
            if not parts.path.startswith("/"):
                raise ValueError(f"{value!r}: a unix socket needs an absolute path")
        elif parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise ValueError(f"{value!r}: needs a host")
        else:
            raise ValueError(f"{value!r}: use unix:///path or http://host:port")
        return value


# -- Route --------------------------------------------------------------------


class RouteTLS(StrEnum):
    AUTO = "auto"
    INTERNAL = "internal"
    OFF = "off"


class RouteTarget(Frozen):
    stack: Name | None = None
    service: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    url: str | None = Field(default=None, description="http://host:port of an upstream.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("stack") or info.data.get("service"):
            raise ValueError("give either 'url' or 'stack' and 'service', not both")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.url is None and not (self.stack and self.service):
            missing = "service" if self.stack else "stack"
            raise ValueError(f"needs '{missing}' (a stack and its service), or 'url'")
        return self


class RouteRedirect(Frozen):
    to: str = Field(description="Target URL; {uri} is the request's path and query.")
    code: Literal[301, 302, 303, 307, 308] = 308


class BasicAuth(Frozen):
    secret: Name = Field(description="A Secret whose keys are user names and values passwords.")
    realm: str = "restricted"


class RouteHealth(Frozen):
    path: str = "/"
    expect_status: list[int] = Field(
        default_factory=lambda: [200], alias="expectStatus", min_length=1
    )


class RouteDNS(Frozen):
    zone: Name
    type: Literal["A", "AAAA", "CNAME"] = "A"
    values: list[str] = Field(min_length=1)
    ttl: int = Field(default=300, ge=1, le=2147483647)

    @field_validator("values")
    @classmethod
    def _values(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _check_values(value, info)


class RouteSpec(Frozen):
    gateway: Name
    hosts: list[RouteHost] = Field(min_length=1)
    path: str = "/"
    to: RouteTarget | None = None
    redirect: RouteRedirect | None = None
    tls: RouteTLS = RouteTLS.AUTO
    headers: dict[str, str] = Field(
        default_factory=dict, description="Response headers to set."
    )
    basic_auth: BasicAuth | None = Field(default=None, alias="basicAuth")
    health: RouteHealth = Field(default_factory=RouteHealth)
    dns: RouteDNS | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        if any(c in value for c in " *?#"):
            raise ValueError("must be a plain path prefix (no spaces, '*', '?' or '#')")
        return value

    @field_validator("redirect")
    @classmethod
    def _not_both(cls, value: RouteRedirect | None, info: ValidationInfo) -> RouteRedirect | None:
        if value is not None and info.data.get("to") is not None:
            raise ValueError("give either 'to' or 'redirect', not both")
        return value

    @model_validator(mode="after")
    def _target(self) -> Self:
        if self.to is None and self.redirect is None:
            raise ValueError("needs 'to' (where requests go) or 'redirect'")
        return self


# -- DNS ----------------------------------------------------------------------


class DNSProvider(StrEnum):
    RFC2136 = "rfc2136"
    POWERDNS = "powerdns"


class Ownership(StrEnum):
    SHARED = "shared"
    AUTHORITATIVE = "authoritative"


class TSIG(Frozen):
    secret: Name = Field(
        description="A Secret with keys 'name', 'secret' and optional 'algorithm'."
    )


class DNSZoneSpec(Frozen):
    zone: ZoneName
    provider: DNSProvider = DNSProvider.RFC2136
    server: ServerAddress | None = Field(
        default=None, description="rfc2136: host:port of the primary server."
    )
    api: str | None = Field(default=None, description="powerdns: http://host:port of the API.")
    api_key: SecretRef | None = Field(default=None, alias="apiKey")
    server_id: str = Field(default="localhost", alias="serverId")
    tsig: TSIG | None = None
    ownership: Ownership = Ownership.SHARED
    adopt: bool = Field(
        default=False, description="shared zones: take over existing records that match."
    )

    @model_validator(mode="after")
    def _provider_fields(self) -> Self:
        if self.provider is DNSProvider.RFC2136:
            if self.server is None:
                raise ValueError("provider rfc2136 needs 'server'")
            if self.api is not None or self.api_key is not None:
                raise ValueError("'api' and 'apiKey' belong to provider powerdns")
        else:
            if self.api is None:
                raise ValueError("provider powerdns needs 'api'")
            parts = urlsplit(self.api)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"api {self.api!r} must be an http:// or https:// URL")
            if self.tsig is not None:
                raise ValueError("'tsig' belongs to provider rfc2136")
        return self


def _check_values(values: list[str], info: ValidationInfo) -> list[str]:
    # Parsed with dnspython in the resolve stage; here only the cheap checks.
    if info.data.get("type") == "CNAME" and len(values) != 1:
        raise ValueError(f"a CNAME record set has exactly one value, not {len(values)}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"values must not repeat ({', '.join(map(repr, repeated))})")
    return values


RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA", "NS", "PTR")
RecordType = Literal["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA", "NS", "PTR"]


class DNSRecordSpec(Frozen):
    zone: Name = Field(description="The DNSZone resource this record belongs to.")
    name: str = Field(
        min_length=1, description="Relative to the zone; '@' is the zone apex."
    )
    type: RecordType
    ttl: int = Field(default=300, ge=1, le=2147483647)
    values: list[str] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value == "@":
            return value
        if value.endswith("."):
            raise ValueError("give the name relative to the zone, without a trailing dot")
        for label in value.split("."):
            plain = bool(label) and len(label) <= 63 and all(
                c.isalnum() or c in "-_" for c in label
            )
            if label == "*" or plain:
                continue
            raise ValueError(f"{value!r} is not a valid record name (label {label!r})")
        return value.lower()

    @field_validator("values")
    @classmethod
    def _values(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _check_values(value, info)


# -- Schedule -----------------------------------------------------------------


class Concurrency(StrEnum):
    FORBID = "forbid"
    ALLOW = "allow"
    REPLACE = "replace"


class Missed(StrEnum):
    RUN_ONCE = "run-once"
    SKIP = "skip"


class RunAction(Frozen):
    stack: Name
    service: str = Field(min_length=1)
    command: list[str] | str | None = None
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)


class ExecAction(Frozen):
    stack: Name
    service: str = Field(min_length=1)
    command: list[str] | str


class HTTPAction(Frozen):
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, EnvValue] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[int] = Field(
        default_factory=lambda: [200], alias="expectStatus", min_length=1
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} must be an http:// or https:// URL")
        return value


class ReconcileAction(Frozen):
    resources: list[str] = Field(
        default_factory=list, description="Kind/name of the resources; empty means all."
    )


class ScheduleAction(Frozen):
    run: RunAction | None = None
    exec: ExecAction | None = None
    http: HTTPAction | None = None
    reconcile: ReconcileAction | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("run", "exec", "http", "reconcile") if getattr(self, k) is not None]
        if not given:
            raise ValueError("needs one of run, exec, http, reconcile")
        if len(given) > 1:
            raise ValueError(f"give only one of run, exec, http, reconcile (found "
                             f"{' and '.join(given)})")
        return self


class ScheduleSpec(Frozen):
    cron: Cron | None = None
    every: Duration | None = None

    @field_validator("every")
    @classmethod
    def _not_both(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("cron") is not None:
            raise ValueError("give either 'cron' or 'every', not both")
        return value
    timezone: TimeZone = "UTC"
    action: ScheduleAction
    concurrency: Concurrency = Concurrency.FORBID
    timeout: Duration | None = None
    missed: Missed = Missed.SKIP
    jitter: Duration | None = None
    history: int = Field(default=20, ge=1, le=1000, description="Runs kept in history.")
    suspend: bool = False

    @model_validator(mode="after")
    def _when(self) -> Self:
        if self.cron is None and self.every is None:
            raise ValueError("needs 'cron' (such as \"0 3 * * *\") or 'every' (such as 15m)")
        return self


# -- Secret -------------------------------------------------------------------


class SecretSource(StrEnum):
    ENV = "env"
    FILE = "file"
    SOPS = "sops"


class SecretSpec(Frozen):
    from_: SecretSource = Field(alias="from")
    keys: dict[str, str] = Field(
        min_length=1,
        description="env: key -> environment variable; file: key -> file path "
        "(relative to the manifest's folder, or absolute).",
    )
    file: str | None = Field(default=None, description="sops: the encrypted file.")

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key, source in value.items():
            if not key or not source:
                raise ValueError("keys and their sources must not be empty")
        return value

    @model_validator(mode="after")
    def _sops(self) -> Self:
        if self.from_ is SecretSource.SOPS and not self.file:
            raise ValueError("from: sops needs 'file'")
        return self


# -- Policy -------------------------------------------------------------------


class PolicyAction(StrEnum):
    ENFORCE = "enforce"
    WARN = "warn"


class PolicySelector(Frozen):
    names: list[str] = Field(
        default_factory=list, description="Glob patterns of metadata.name (empty: any name)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels a resource must all carry; the value '*' accepts any value.",
    )


class PolicyMatch(Frozen):
    kinds: list[Kind] = Field(default_factory=list, description="Empty: every kind.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels a resource must all carry; the value '*' accepts any value.",
    )
    names: list[str] = Field(
        default_factory=list, description="Glob patterns of metadata.name (empty: any name)."
    )
    exclude: PolicySelector | None = Field(
        default=None,
        description="Resources that match this selector are left out "
        "(e.g. a label that grants an exception).",
    )


class PolicyRule(Frozen):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)
    message: str = Field(min_length=1)
    deny: dict[str, Any] = Field(
        description="A JSON Schema; a resource that validates against it violates the rule. "
        "{$param: name} stands for a parameter's value; "
        "{$param: name, each: template} maps a list parameter through a template "
        "in which {$item: key} stands for a field of each element."
    )
    each: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_$.*-]+$",
        description="Evaluate deny against every node this dotted path selects "
        "('*' is every key or element), e.g. compose.services.*; "
        "each matching node is one violation, reported at its own file and line.",
    )

    @field_validator("deny")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator

        # Parameters are substituted when the policy is evaluated: check the
        # schema with each parameter standing in as {} and ignore what the
        # metaschema says about those places.
        holes: list[tuple[str | int, ...]] = []
        plain = _without_params(value, (), holes)
        meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
        for error in meta.iter_errors(plain):
            path = tuple(error.absolute_path)
            if any(path[: len(h)] == h for h in holes):
                continue
            where = "/".join(str(p) for p in path)
            at = f" (at {where})" if where else ""
            raise ValueError(f"not a valid JSON Schema{at}: {error.message}")
        for ref in schema_refs(plain):
            if resolve_ref(plain, ref) is NOWHERE:
                raise ValueError(
                    f"$ref {ref!r} does not point inside this schema (bosun never fetches "
                    "schemas: use a local reference such as '#/$defs/name')"
                )
        loop = ref_loop(plain)
        if loop:
            raise ValueError(f"$ref {loop!r} refers back to itself without end")
        return value


def _without_params(
    value: Any, path: tuple[str | int, ...], holes: list[tuple[str | int, ...]]
) -> Any:
    if isinstance(value, dict):
        if "$param" in value or "$item" in value:
            holes.append(path)
            return {}
        return {k: _without_params(v, (*path, k), holes) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_params(v, (*path, i), holes) for i, v in enumerate(value)]
    return value


class PolicyParam(Frozen):
    description: str = ""
    default: Any = Field(
        default=None,
        description="Value used when the repository sets none; no default and no value "
        "leaves the rules that use the parameter inactive.",
    )
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema",
        description="A JSON Schema the parameter's value must satisfy.",
    )


class PolicySpec(Frozen):
    action: PolicyAction = PolicyAction.ENFORCE
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    params: dict[str, PolicyParam] = Field(
        default_factory=dict,
        description="Parameters the rules use; the repository sets them in bosun.yaml "
        "(spec.policies.params).",
    )
    rules: list[PolicyRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self


# -- documents ----------------------------------------------------------------


class _Doc(Frozen):
    api_version: Literal["bosun/v1"] = Field(alias="apiVersion")
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name


class Repository(_Doc):
    kind: Literal[Kind.REPOSITORY] = Kind.REPOSITORY
    spec: RepositorySpec = Field(default_factory=RepositorySpec)


class Host(_Doc):
    kind: Literal[Kind.HOST] = Kind.HOST
    spec: HostSpec = Field(default_factory=HostSpec)


class Stack(_Doc):
    kind: Literal[Kind.STACK] = Kind.STACK
    spec: StackSpec


class Gateway(_Doc):
    kind: Literal[Kind.GATEWAY] = Kind.GATEWAY
    spec: GatewaySpec = Field(default_factory=GatewaySpec)


class Route(_Doc):
    kind: Literal[Kind.ROUTE] = Kind.ROUTE
    spec: RouteSpec


class DNSZone(_Doc):
    kind: Literal[Kind.DNS_ZONE] = Kind.DNS_ZONE
    spec: DNSZoneSpec


class DNSRecord(_Doc):
    kind: Literal[Kind.DNS_RECORD] = Kind.DNS_RECORD
    spec: DNSRecordSpec


class Schedule(_Doc):
    kind: Literal[Kind.SCHEDULE] = Kind.SCHEDULE
    spec: ScheduleSpec


class Secret(_Doc):
    kind: Literal[Kind.SECRET] = Kind.SECRET
    spec: SecretSpec


class Policy(_Doc):
    kind: Literal[Kind.POLICY] = Kind.POLICY
    spec: PolicySpec


Document = Annotated[
    Repository | Host | Stack | Gateway | Route | DNSZone | DNSRecord | Schedule | Secret | Policy,
    Field(discriminator="kind"),
]

KIND_MODELS: dict[Kind, type[_Doc]] = {
    Kind.REPOSITORY: Repository,
    Kind.HOST: Host,
    Kind.STACK: Stack,
    Kind.GATEWAY: Gateway,
    Kind.ROUTE: Route,
    Kind.DNS_ZONE: DNSZone,
    Kind.DNS_RECORD: DNSRecord,
    Kind.SCHEDULE: Schedule,
    Kind.SECRET: Secret,
    Kind.POLICY: Policy,
}

AnyDocument = (
    Repository | Host | Stack | Gateway | Route | DNSZone | DNSRecord | Schedule | Secret | Policy
)

StackDefaults.model_rebuild()
RepositoryDefaults.model_rebuild()
RepositoryPolicies.model_rebuild()
RepositorySpec.model_rebuild()
