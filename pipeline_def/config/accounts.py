"""The optional ``accounts`` block: one environment trains and registers, others deploy its packages.

In the registry environment (dev)::

    "accounts": {"promoteTo": ["staging", "prod"]}

and in each environment it promotes to::

    "accounts": {"registryEnvironment": "dev"}

Both sides are written out, so reading one environment tells what it trusts. The registry's
model package group, artifact bucket (model artifacts only) and key (through S3 only) are opened
to the deploying accounts, and its Approved events are forwarded to their default event buses;
a deploying environment deploys only the registry's packages and approves nothing itself.

Checked before any construct exists, with the dotted key and what is allowed: names of other
environments only, exactly one role per environment (so no chains or cycles), both sides naming
each other, another account than the registry's (and distinct accounts among the deploying
environments), and the registry's region. Without the block nothing of this is synthesized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pipeline_def.config.reader import ConfigError, Reader, environment, environment_names, project_name
from pipeline_def.config.settings import PipelineSettings
from pipeline_def.names import PREFIX, TUNING_FOLDER

#: Where the tuning jobs write model artifacts: the only prefix deploying accounts may read.
MODEL_ARTIFACTS_PREFIX = f"{PREFIX}/{TUNING_FOLDER}/"
#: Approval happens in the registry environment; its reviewers get the notices.
_NO_REVIEWERS = "an empty list (approval happens in the registry environment; subscribe reviewers there)"


def bucket_name(prefix: str, purpose: str, account: str) -> str:
    """``<prefix>-<purpose>-<account>``: unique, at most 60 characters, and known before deploy."""
    return f"{prefix}-{purpose}-{account}"


@dataclass(frozen=True, kw_only=True)
class PeerEnvironment:
    """Another environment of the promotion: where it lives and what its registry side is called."""

    name: str
    account: str
    region: str
    prefix: str
    model_package_group_name: str

    @property
    def artifact_bucket_name(self) -> str:
        return bucket_name(self.prefix, "artifacts", self.account)

    @property
    def key_alias(self) -> str:
        """The alias of the environment's key (the data stack's ``alias/<prefix>``)."""
        return f"alias/{self.prefix}"

    @classmethod
    def of(cls, settings: PipelineSettings) -> PeerEnvironment:
        return cls(
            name=settings.env_name,
            account=settings.account,
            region=settings.region,
            prefix=settings.prefix,
            model_package_group_name=settings.model_package_group_name,
        )


@dataclass(frozen=True, kw_only=True)
class AccountsSettings:
    """The environment's role in cross-account promotion: registry (``promote_to``) or deployer."""

    KEYS: ClassVar[tuple[str, ...]] = ("promoteTo", "registryEnvironment")

    promote_to: tuple[PeerEnvironment, ...] = ()
    registry: PeerEnvironment | None = None

    @classmethod
    def from_context(cls, context: Reader, env: Reader, own: PipelineSettings) -> AccountsSettings | None:
        """The ``accounts`` block checked against the other environments, or ``None`` without one."""
        if "accounts" not in env.data:
            return None
        block = env.child("accounts", keys=cls.KEYS)
        if len(block.data) != 1:
            raise ConfigError(
                f"{block.path}: give exactly one of promoteTo (this environment's registry is promoted to "
                "others) or registryEnvironment (this environment deploys another's packages)"
            )
        if "promoteTo" in block.data:
            return cls(promote_to=_promote_to(context, block, own))
        return cls(registry=_registry(context, block, own))


def check_no_reviewers(accounts: AccountsSettings | None, notifications: Reader) -> None:
    """A deploying environment has no approval function, so nobody would notify its reviewers."""
    if accounts is None or accounts.registry is None:
        return
    reviewers = notifications.data.get("reviewers", []) if isinstance(notifications.data, dict) else []
    if reviewers:
        raise ConfigError(
            f"{notifications.path}.reviewers: {accounts.registry.name} approves the packages this "
            f"environment deploys, so no notice is sent here; allowed: {_NO_REVIEWERS}"
        )


def _others(context: Reader, own: PipelineSettings) -> list[str]:
    return [name for name in environment_names(context) if name != own.env_name]


def _named_environment(context: Reader, where: str, value: Any, own: PipelineSettings) -> str:
    others = _others(context, own)
    allowed = ", ".join(others) or "(no other environment)"
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected an environment name, got {value!r}; allowed: {allowed}")
    if value == own.env_name:
        raise ConfigError(f"{where}: {value!r} is this environment; allowed: {allowed}")
    if value not in others:
        raise ConfigError(f"{where}: unknown environment {value!r}; allowed: {allowed}")
    return value


def _peer(context: Reader, name: str) -> PeerEnvironment:
    return PeerEnvironment.of(
        PipelineSettings.from_context(project_name(context), name, environment(context, name))
    )


def _accounts_block(context: Reader, name: str) -> dict[str, Any]:
    block = environment(context, name).data.get("accounts", {})
    return block if isinstance(block, dict) else {}


def _check_placement(where: str, peer: PeerEnvironment, own: PipelineSettings) -> None:
    """Another account than ``own``'s (cross-account is the point), in ``own``'s region."""
    if peer.account == own.account:
        raise ConfigError(
            f"{where}: {peer.name} is in account {peer.account}, as {own.env_name} is; allowed: an "
            f"environment in another account than {own.account}"
        )
    if peer.region != own.region:
        raise ConfigError(
            f"{where}: {peer.name} is in region {peer.region}; allowed: an environment in "
            f"{own.env_name}'s region {own.region} (promotion does not cross regions)"
        )


def _promote_to(context: Reader, block: Reader, own: PipelineSettings) -> tuple[PeerEnvironment, ...]:
    where = f"{block.path}.promoteTo"
    names = block.data["promoteTo"]
    if not isinstance(names, list) or not names:
        allowed = ", ".join(_others(context, own))
        raise ConfigError(
            f"{where}: expected a non-empty list of environment names, got {names!r}; allowed: {allowed}"
        )
    peers: list[PeerEnvironment] = []
    for index, value in enumerate(names):
        item = f"{where}[{index}]"
        name = _named_environment(context, item, value, own)
        if any(peer.name == name for peer in peers):
            raise ConfigError(f"{item}: {name!r} is listed twice")
        peer = _peer(context, name)
        _check_placement(item, peer, own)
        sharing = [other.name for other in peers if other.account == peer.account]
        if sharing:
            raise ConfigError(
                f"{item}: {name} is in account {peer.account}, as {sharing[0]} is; allowed: environments "
                "in distinct accounts (each account's event bus receives the approved events once)"
            )
        registry = _accounts_block(context, name).get("registryEnvironment")
        if registry != own.env_name:
            target = f"{environment(context, name).path}.accounts.registryEnvironment"
            found = "missing" if registry is None else f"{registry!r}"
            raise ConfigError(
                f"{target}: {found}; {own.env_name} promotes to {name}, so allowed: {own.env_name!r} "
                "(an environment deploys one registry's packages, and a registry is promoted by no other)"
            )
        peers.append(peer)
    return tuple(peers)


def _registry(context: Reader, block: Reader, own: PipelineSettings) -> PeerEnvironment:
    where = f"{block.path}.registryEnvironment"
    name = _named_environment(context, where, block.data["registryEnvironment"], own)
    promoting = [
        other
        for other in _others(context, own)
        if isinstance(targets := _accounts_block(context, other).get("promoteTo"), list)
        and own.env_name in targets
    ]
    if name not in promoting:
        allowed = ", ".join(promoting) or f"none: no environment lists {own.env_name} in accounts.promoteTo"
        raise ConfigError(
            f"{where}: {name!r} does not list {own.env_name} in its accounts.promoteTo; allowed: {allowed}"
        )
    peer = _peer(context, name)
    _check_placement(where, peer, own)
    return peer
