"""Data stack: key, buckets, Glue, Athena and feature groups generated from the schema."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from pipeline_def.schema import FEATURE_GROUPS, FeatureGroupSchema
from tests.infra.synth_support import (
    Synthesized,
    as_list,
    key_with_alias,
    policy_statements,
    resources_of,
)

STATEFUL_TYPES = (
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Glue::Database",
    "AWS::Athena::WorkGroup",
    "AWS::SageMaker::FeatureGroup",
)


def feature_group(env: Synthesized, schema: FeatureGroupSchema) -> dict:
    name = env.config.pipeline.feature_group_names[schema.name]
    groups = [
        r
        for r in resources_of(env.json("data"), "AWS::SageMaker::FeatureGroup").values()
        if r["Properties"]["FeatureGroupName"] == name
    ]
    assert len(groups) == 1, f"no feature group {name}"
    return groups[0]["Properties"]


def key_id(env: Synthesized) -> str:
    """The project key: the one behind ``alias/<prefix>``."""
    found, _ = key_with_alias(env.json("data"), f"alias/{env.config.prefix}")
    return found


def artifact_key(env: Synthesized) -> tuple[str, dict]:
    return key_with_alias(env.json("data"), f"alias/{env.config.prefix}-artifacts")


@pytest.mark.parametrize("schema", FEATURE_GROUPS, ids=lambda s: s.name)
def test_feature_definitions_are_the_schema_in_order(env: Synthesized, schema: FeatureGroupSchema) -> None:
    props = feature_group(env, schema)
    assert props["FeatureDefinitions"] == [
        {"FeatureName": f.name, "FeatureType": f.type.value} for f in schema.features
    ]


@pytest.mark.parametrize("schema", FEATURE_GROUPS, ids=lambda s: s.name)
def test_feature_group_record_id_and_event_time_come_from_the_schema(
    env: Synthesized, schema: FeatureGroupSchema
) -> None:
    props = feature_group(env, schema)
    assert (props["RecordIdentifierFeatureName"], props["EventTimeFeatureName"]) == (
        schema.record_identifier,
        schema.event_time,
    )


@pytest.mark.parametrize("schema", FEATURE_GROUPS, ids=lambda s: s.name)
def test_both_stores_are_encrypted_with_the_environment_key(
    env: Synthesized, schema: FeatureGroupSchema
) -> None:
    props = feature_group(env, schema)
    key_arn = {"Fn::GetAtt": [key_id(env), "Arn"]}
    assert props["OnlineStoreConfig"] == {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key_arn}}
    assert props["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"] == key_arn


@pytest.mark.parametrize("schema", FEATURE_GROUPS, ids=lambda s: s.name)
def test_offline_store_is_the_named_glue_table_in_the_data_bucket(
    env: Synthesized, schema: FeatureGroupSchema
) -> None:
    settings = env.config.pipeline
    offline = feature_group(env, schema)["OfflineStoreConfig"]
    assert offline["DataCatalogConfig"] == {
        "Catalog": "AwsDataCatalog",
        "Database": settings.glue_database,
        "TableName": settings.offline_table(schema.name),
    }
    assert offline["S3StorageConfig"]["S3Uri"] == f"s3://{env.config.data_bucket_name}/feature-store"


def test_key_rotates(env: Synthesized) -> None:
    assert env.json("data")["Resources"][key_id(env)]["Properties"]["EnableKeyRotation"] is True


def test_the_stack_holds_exactly_the_project_key_and_the_artifact_key(env: Synthesized) -> None:
    assert set(resources_of(env.json("data"), "AWS::KMS::Key")) == {key_id(env), artifact_key(env)[0]}


def test_artifact_key_rotates(env: Synthesized) -> None:
    _, key = artifact_key(env)
    assert key["Properties"]["EnableKeyRotation"] is True


def test_artifact_key_is_removed_like_the_project_key(env: Synthesized) -> None:
    # Given both keys / Then the environment's removal policy applies to both alike
    project = env.json("data")["Resources"][key_id(env)]
    _, key = artifact_key(env)
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == (
        project["DeletionPolicy"],
        project["UpdateReplacePolicy"],
    )


def test_artifact_key_policy_names_no_service_and_no_other_account(env: Synthesized) -> None:
    # Given the default templates (no promotion) / Then only this account's root administers the key:
    # it encrypts S3 objects for roles of this account, so no service needs it in its key policy
    _, key = artifact_key(env)
    principals = [s["Principal"] for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert principals == [{"AWS": f"arn:aws:iam::{env.config.account}:root"}]


def test_every_bucket_denies_requests_without_tls(env: Synthesized) -> None:
    template = env.json("data")
    buckets = set(resources_of(template, "AWS::S3::Bucket"))
    assert len(buckets) == 3
    denied = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in resources_of(template, "AWS::S3::BucketPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert denied == buckets


def bucket_properties(env: Synthesized) -> list[dict]:
    return [bucket["Properties"] for bucket in resources_of(env.json("data"), "AWS::S3::Bucket").values()]


def test_every_bucket_is_versioned(env: Synthesized) -> None:
    # Given the data stack's buckets
    buckets = bucket_properties(env)
    # Then there are some, and each keeps its object versions
    assert buckets
    for props in buckets:
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_blocks_public_access(env: Synthesized) -> None:
    # Given the data stack's buckets
    buckets = bucket_properties(env)
    # Then there are some, and each blocks every kind of public access
    assert buckets
    for props in buckets:
        assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )


@pytest.mark.parametrize("purpose", ["data", "artifacts"])
def test_data_buckets_use_kms(env: Synthesized, purpose: str) -> None:
    # Given the data or artifact bucket / Then it encrypts with the project key, with a bucket key
    env.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": env.config.bucket_name(purpose),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [key_id(env), "Arn"]},
                            },
                        }
                    )
                ]
            },
        },
    )


@pytest.mark.parametrize(("purpose", "log_prefix"), [("data", "data/"), ("artifacts", "artifacts/")])
def test_data_buckets_log_access(env: Synthesized, purpose: str, log_prefix: str) -> None:
    # Given the access-log bucket
    log_bucket = next(
        k
        for k, v in resources_of(env.json("data"), "AWS::S3::Bucket").items()
        if v["Properties"]["BucketName"] == env.config.log_bucket_name
    )
    # Then the data or artifact bucket logs its access there, under its own prefix
    env.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": env.config.bucket_name(purpose),
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": log_bucket},
                "LogFilePrefix": log_prefix,
            },
        },
    )


def test_glue_database_has_the_settings_name(env: Synthesized) -> None:
    env.template("data").has_resource_properties(
        "AWS::Glue::Database",
        {"DatabaseInput": Match.object_like({"Name": env.config.pipeline.glue_database})},
    )


def test_athena_workgroup_enforces_kms_encrypted_results_in_the_artifact_bucket(env: Synthesized) -> None:
    env.template("data").has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": env.config.pipeline.athena_workgroup,
            "WorkGroupConfiguration": Match.object_like(
                {
                    "EnforceWorkGroupConfiguration": True,
                    "ResultConfiguration": Match.object_like(
                        {
                            "OutputLocation": f"s3://{env.config.artifact_bucket_name}/athena-results/",
                            "EncryptionConfiguration": {
                                "EncryptionOption": "SSE_KMS",
                                "KmsKey": {"Fn::GetAtt": [key_id(env), "Arn"]},
                            },
                        }
                    ),
                }
            ),
        },
    )


def test_feature_store_role_writes_only_the_offline_store_prefix(env: Synthesized) -> None:
    role_id = only_resource_id(env, "FeatureStoreRole")
    s3_resources = {
        resource
        for logical_id, statement in policy_statements(env.json("data"))
        if logical_id == role_id
        for resource in as_list(statement["Resource"])
        if any(action.startswith("s3:") for action in as_list(statement["Action"]))
    }
    bucket = env.config.data_bucket_name
    assert s3_resources == {f"arn:aws:s3:::{bucket}/feature-store/*", f"arn:aws:s3:::{bucket}"}


def test_feature_store_role_trusts_sagemaker_without_source_conditions(env: Synthesized) -> None:
    # Feature Store is not among the SageMaker features documented to send aws:SourceAccount.
    role = env.json("data")["Resources"][only_resource_id(env, "FeatureStoreRole")]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]


@pytest.mark.parametrize("schema", FEATURE_GROUPS, ids=lambda s: s.name)
def test_feature_groups_carry_only_the_fixed_project_and_env_tags(
    env: Synthesized, schema: FeatureGroupSchema
) -> None:
    # Tags of a feature group are create-only: configured tags (cost-center...) would make every
    # tag edit in cdk.json a replacement, so the stage's tag aspect skips feature groups.
    assert feature_group(env, schema)["Tags"] == [
        {"Key": "env", "Value": env.config.name},
        {"Key": "project", "Value": env.config.project},
    ]


def test_configured_tags_still_reach_the_other_data_resources(env: Synthesized) -> None:
    key = env.json("data")["Resources"][key_id(env)]["Properties"]
    assert {t["Key"]: t["Value"] for t in key["Tags"]} == env.config.all_tags


def only_resource_id(env: Synthesized, prefix: str) -> str:
    ids = [k for k in resources_of(env.json("data"), "AWS::IAM::Role") if k.startswith(prefix)]
    assert len(ids) == 1
    return ids[0]


@pytest.mark.parametrize("resource_type", STATEFUL_TYPES)
def test_prod_retains_stateful_resources(prod: Synthesized, resource_type: str) -> None:
    resources = resources_of(prod.json("data"), resource_type).values()
    assert resources, f"no {resource_type} in the data stack"
    for resource in resources:
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize("resource_type", STATEFUL_TYPES)
def test_dev_deletes_stateful_resources(dev: Synthesized, resource_type: str) -> None:
    resources = resources_of(dev.json("data"), resource_type).values()
    assert resources, f"no {resource_type} in the data stack"
    for resource in resources:
        assert resource["DeletionPolicy"] == "Delete"


def test_only_prod_data_stack_is_termination_protected(synthesized: dict[str, Synthesized]) -> None:
    assert {name: s.termination_protection("data") for name, s in synthesized.items()} == {
        "dev": False,
        "staging": False,
        "prod": True,
    }


def test_key_lets_only_this_environments_rules_use_dead_letter_queues(env: Synthesized) -> None:
    key = env.json("data")["Resources"][key_id(env)]
    events = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    account, region, prefix = env.config.account, env.config.region, env.config.prefix
    assert events == [
        {
            "Sid": "AllowEventBridgeRulesOfThisEnvironmentToUseDeadLetterQueues",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:aws:events:{region}:{account}:rule/{prefix}-*"},
            },
        }
    ]
