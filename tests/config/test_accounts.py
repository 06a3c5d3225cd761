"""The ``accounts`` block: dev trains and registers, staging and prod deploy dev's approved packages.

Each test starts from the repository's cdk.json with promotion switched on (dev promotes to
staging and prod, which name dev as their registry), changes one thing, and loads one environment.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lambdas import constants as c
from pipeline_def.config import ConfigError, EnvironmentConfig, Reader, load_environment

ENVS = "cdk.json.context.environments"


def promotion_data(context: Reader) -> dict[str, Any]:
    """The context's data with dev promoting to staging and prod (reviewers only in dev)."""
    data = copy.deepcopy(dict(context.data))
    environments = data["environments"]
    environments["dev"]["accounts"] = {"promoteTo": ["staging", "prod"]}
    for name in ("staging", "prod"):
        environments[name]["accounts"] = {"registryEnvironment": "dev"}
        environments[name]["notifications"]["reviewers"] = []
    return data


def load(data: dict[str, Any], env_name: str, context: Reader) -> EnvironmentConfig:
    return load_environment(Reader(data, context.path), env_name)


def error_loading(data: dict[str, Any], env_name: str, context: Reader) -> str:
    with pytest.raises(ConfigError) as raised:
        load(data, env_name, context)
    return str(raised.value)


def deploy_variables(config: EnvironmentConfig) -> dict[str, str]:
    return config.deploy_environment(
        artifact_bucket=config.artifact_bucket_name,
        idempotency_table="table",
        model_role_arn=f"arn:aws:iam::{config.account}:role/model",
        kms_key_arn=f"arn:aws:kms:{config.region}:{config.account}:key/k",
    ).variables()


# --- What a valid block gives ------------------------------------------------------------------
def test_registry_environment_knows_the_environments_it_promotes_to(context: Reader) -> None:
    # Given dev promotes to staging and prod
    # When dev is loaded
    dev = load(promotion_data(context), "dev", context)
    # Then it knows both by name and account, and deploys from no other registry
    assert [(peer.name, peer.account) for peer in dev.promote_to] == [
        ("staging", "222222222222"),
        ("prod", "333333333333"),
    ]
    assert dev.registry is None


def test_deploying_environment_knows_its_registry(context: Reader) -> None:
    # Given staging names dev as its registry
    # When staging is loaded
    staging = load(promotion_data(context), "staging", context)
    # Then it knows dev's account, group, artifact bucket and key alias, and promotes to nobody
    registry = staging.registry
    assert registry is not None
    assert registry.account == "111111111111"
    assert registry.model_package_group_name == "fraud-mlops-dev-fraud-detection"
    assert registry.artifact_bucket_name == "fraud-mlops-dev-artifacts-111111111111"
    assert registry.key_alias == "alias/fraud-mlops-dev"
    assert staging.promote_to == ()


def test_deploying_environment_deploys_the_registry_group_of_the_registry_account(context: Reader) -> None:
    # Given staging deploys dev's packages
    staging = load(promotion_data(context), "staging", context)
    # When the deploy function's variables are built
    variables = deploy_variables(staging)
    # Then it acts on dev's group and accepts dev's account
    assert variables[c.ENV_MODEL_PACKAGE_GROUP_NAME] == "fraud-mlops-dev-fraud-detection"
    assert variables[c.ENV_REGISTRY_ACCOUNT] == "111111111111"


def test_without_the_block_nothing_is_promoted(context: Reader) -> None:
    # Given the repository's cdk.json, which has no accounts block
    # When dev and staging are loaded
    dev, staging = (load_environment(context, name) for name in ("dev", "staging"))
    # Then neither promotes nor deploys another's packages, and no registry account is passed on
    assert dev.accounts is None
    assert staging.accounts is None
    assert c.ENV_REGISTRY_ACCOUNT not in deploy_variables(staging)


# --- What fails, with the key and what is allowed -----------------------------------------------
def test_unknown_environment_in_promote_to_fails(context: Reader) -> None:
    # Given dev promotes to an environment that does not exist
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"]["promoteTo"] = ["staging", "qa"]
    # When dev is loaded, then the item and the other environments are named
    assert error_loading(data, "dev", context) == (
        f"{ENVS}.dev.accounts.promoteTo[1]: unknown environment 'qa'; allowed: staging, prod"
    )


def test_promoting_to_itself_fails(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"]["promoteTo"] = ["dev"]
    assert error_loading(data, "dev", context) == (
        f"{ENVS}.dev.accounts.promoteTo[0]: 'dev' is this environment; allowed: staging, prod"
    )


def test_promoting_to_an_environment_of_the_same_account_fails(context: Reader) -> None:
    # Given staging lives in dev's account
    data = promotion_data(context)
    data["environments"]["staging"]["account"] = "111111111111"
    # When dev is loaded, then the shared account is the reason
    message = error_loading(data, "dev", context)
    assert message.startswith(f"{ENVS}.dev.accounts.promoteTo[0]: staging is in account 111111111111")
    assert "allowed: an environment in another account than 111111111111" in message


def test_registry_of_the_same_account_fails_on_the_deploying_side_too(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["staging"]["account"] = "111111111111"
    message = error_loading(data, "staging", context)
    assert message.startswith(f"{ENVS}.staging.accounts.registryEnvironment: dev is in account 111111111111")


def test_two_deploying_environments_in_one_account_fail(context: Reader) -> None:
    # Given staging and prod share an account
    data = promotion_data(context)
    data["environments"]["prod"]["account"] = "222222222222"
    # When dev is loaded, then the second of them is named with the allowed layout
    message = error_loading(data, "dev", context)
    assert message.startswith(
        f"{ENVS}.dev.accounts.promoteTo[1]: prod is in account 222222222222, as staging is"
    )
    assert "allowed: environments in distinct accounts" in message


def test_promoting_across_regions_fails(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["prod"]["region"] = "eu-west-1"
    message = error_loading(data, "dev", context)
    assert message.startswith(f"{ENVS}.dev.accounts.promoteTo[1]: prod is in region eu-west-1")
    assert "allowed: an environment in dev's region us-east-1" in message


def test_listed_environment_without_registry_environment_fails(context: Reader) -> None:
    # Given dev promotes to prod, but prod does not name dev as its registry
    data = promotion_data(context)
    del data["environments"]["prod"]["accounts"]
    # When dev is loaded, then prod's missing key is named with the one allowed value
    message = error_loading(data, "dev", context)
    assert message.startswith(f"{ENVS}.prod.accounts.registryEnvironment: missing; dev promotes to prod")
    assert "allowed: 'dev'" in message


def test_registry_environment_that_does_not_promote_here_fails(context: Reader) -> None:
    # Given prod names dev as its registry, but dev promotes to staging only
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"]["promoteTo"] = ["staging"]
    # When prod is loaded, then the registry's missing promotion is the reason
    message = error_loading(data, "prod", context)
    assert message.startswith(
        f"{ENVS}.prod.accounts.registryEnvironment: 'dev' does not list prod in its accounts.promoteTo"
    )
    assert "allowed: none: no environment lists prod" in message


def test_registry_environment_without_any_registry_fails(context: Reader) -> None:
    # Given staging names dev as its registry, and no environment promotes at all
    data = promotion_data(context)
    del data["environments"]["dev"]["accounts"]
    message = error_loading(data, "staging", context)
    assert message.startswith(f"{ENVS}.staging.accounts.registryEnvironment: 'dev' does not list staging")


def test_unknown_registry_environment_fails(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["staging"]["accounts"]["registryEnvironment"] = "dve"
    assert error_loading(data, "staging", context) == (
        f"{ENVS}.staging.accounts.registryEnvironment: unknown environment 'dve'; allowed: dev, prod"
    )


def test_an_environment_with_both_roles_fails(context: Reader) -> None:
    # Given staging deploys dev's packages and promotes to prod (a chain)
    data = promotion_data(context)
    data["environments"]["staging"]["accounts"]["promoteTo"] = ["prod"]
    # When staging is loaded, then one role is allowed
    message = error_loading(data, "staging", context)
    assert message.startswith(f"{ENVS}.staging.accounts: give exactly one of promoteTo")


def test_a_cycle_of_promotions_fails(context: Reader) -> None:
    # Given dev promotes to staging and staging promotes back to dev
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"]["promoteTo"] = ["staging"]
    data["environments"]["staging"]["accounts"] = {"promoteTo": ["dev"]}
    # When dev is loaded, then staging is told to name dev as its registry instead
    message = error_loading(data, "dev", context)
    assert message.startswith(
        f"{ENVS}.staging.accounts.registryEnvironment: missing; dev promotes to staging"
    )


def test_empty_promote_to_fails(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"]["promoteTo"] = []
    message = error_loading(data, "dev", context)
    assert message.startswith(
        f"{ENVS}.dev.accounts.promoteTo: expected a non-empty list of environment names"
    )
    assert message.endswith("allowed: staging, prod")


def test_unknown_key_in_the_block_fails(context: Reader) -> None:
    data = promotion_data(context)
    data["environments"]["dev"]["accounts"] = {"promoteto": ["staging"]}
    assert error_loading(data, "dev", context) == (
        f"{ENVS}.dev.accounts.promoteto: unknown key; did you mean promoteTo? "
        "allowed: promoteTo, registryEnvironment"
    )


def test_reviewers_of_a_deploying_environment_fail(context: Reader) -> None:
    # Given prod deploys dev's packages but still lists reviewers, who would never hear anything
    data = promotion_data(context)
    data["environments"]["prod"]["notifications"]["reviewers"] = ["ml-reviewers@example.com"]
    # When prod is loaded, then the reviewers key is named with what is allowed
    message = error_loading(data, "prod", context)
    assert message.startswith(f"{ENVS}.prod.notifications.reviewers: dev approves the packages")
    assert "allowed: an empty list" in message
