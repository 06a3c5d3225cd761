"""Feature Store groups generated from ``pipeline_def.schema``, and the role they write with."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sagemaker as sagemaker
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_wildcard_resources
from pipeline_def.schema import FeatureGroupSchema

#: Key prefix of the offline store in the data bucket; SageMaker appends its own layout below it.
OFFLINE_STORE_PREFIX = "feature-store/"


class FeatureStoreRole(Construct):
    """The role SageMaker assumes to write offline-store Parquet files and create their Glue tables.

    Scoped to the offline-store prefix of one bucket, one key, and the Glue tables of one database.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        glue_database: str,
        table_names: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        glue_resources = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=glue_database),
            *(
                stack.format_arn(service="glue", resource="table", resource_name=f"{glue_database}/{t}")
                for t in table_names
            ),
        ]
        offline_store = policies.s3_objects(
            self, bucket_name, [OFFLINE_STORE_PREFIX], ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        )
        statements = [
            offline_store,
            iam.PolicyStatement(
                actions=["s3:GetBucketAcl", "s3:GetBucketLocation"],
                resources=[policies.s3_arn(self, bucket_name)],
            ),
            policies.kms_use(key),
            iam.PolicyStatement(
                actions=[
                    "glue:BatchCreatePartition",
                    "glue:CreateTable",
                    "glue:GetDatabase",
                    "glue:GetPartitions",
                    "glue:GetTable",
                    "glue:UpdateTable",
                ],
                resources=glue_resources,
            ),
        ]
        # No aws:SourceAccount/aws:SourceArn condition, unlike the other SageMaker roles: SageMaker's
        # confused-deputy guidance lists the features that send those keys when they assume a role
        # (Pipelines, processing, training, transform, inference...), and Feature Store is not among
        # them. A condition the service does not send would make every offline-store write fail
        # (docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(policies.SAGEMAKER),
            description="SageMaker Feature Store: writes the offline store and its Glue tables",
            inline_policies={"OfflineStore": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcard_resources(
            self.role,
            [offline_store],
            "Feature Store writes Parquet files under keys it generates "
            "(<prefix>/<account>/sagemaker/<region>/offline-store/<group>-<time>/data/...); "
            "the wildcard is limited to the offline-store prefix.",
        )


class FeatureGroup(Construct):
    """One feature group: online store and offline store (Glue table, KMS) from a schema.

    ``Tags``, ``Description``, ``RoleArn`` and ``OfflineStoreConfig`` of
    ``AWS::SageMaker::FeatureGroup`` are create-only: changing them means replacing the group,
    which CloudFormation cannot do for a named group (and which would drop its data). So the group
    gets only ``tags`` given here (fixed per environment), and the stage's tag aspect skips it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schema: FeatureGroupSchema,
        feature_group_name: str,
        bucket_name: str,
        key: kms.IKey,
        role: iam.IRole,
        glue_database: str,
        table_name: str,
        tags: Mapping[str, str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.feature_group = sagemaker.CfnFeatureGroup(
            self,
            "FeatureGroup",
            feature_group_name=feature_group_name,
            description=schema.description,
            record_identifier_feature_name=schema.record_identifier,
            event_time_feature_name=schema.event_time,
            feature_definitions=[
                sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                    feature_name=feature.name, feature_type=feature.type.value
                )
                for feature in schema.features
            ],
            online_store_config={"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key.key_arn}},
            offline_store_config={
                "S3StorageConfig": {
                    "S3Uri": f"s3://{bucket_name}/{OFFLINE_STORE_PREFIX.rstrip('/')}",
                    "KmsKeyId": key.key_arn,
                },
                "DataCatalogConfig": {
                    "Catalog": "AwsDataCatalog",
                    "Database": glue_database,
                    "TableName": table_name,
                },
                "DisableGlueTableCreation": False,
                "TableFormat": "Glue",
            },
            role_arn=role.role_arn,
            tags=[cdk.CfnTag(key=key, value=value) for key, value in sorted(tags.items())],
        )
        self.feature_group.apply_removal_policy(removal_policy)
