"""What an IAM statement grants, checked against sources independent of the pack's catalogue.

- parliament's own IAM database (a second, separately maintained copy of the Service Authorization
  Reference): every action it expands a pattern to, ours expands it to as well;
- AWS's Service Authorization Reference pages for access levels and resource types
  (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""

from __future__ import annotations

import pytest
from imagegen_policies import iam
from imagegen_policies.facts import Statement, allows


@pytest.mark.parametrize(
    "pattern", ["iam:Pass*", "s3:Get*", "sqs:Delete*", "kms:GenerateDataKey*", "dynamodb:*Item", "xray:Put*"]
)
def test_pattern_expansion_covers_what_an_independent_database_expands(pattern: str) -> None:
    from parliament import expand_action

    theirs = {f"{a['service']}:{a['action']}".lower() for a in expand_action(pattern)}
    ours = set(iam.expand(pattern))
    assert theirs <= ours, theirs - ours
    assert len(ours - theirs) <= 3, ours - theirs  # only actions AWS added after parliament's copy


def test_access_levels_and_scopes_follow_the_service_authorization_reference() -> None:
    table = iam.catalogue()
    # list_amazons3.html: GetObject is Read on `object`; list_awsidentityandaccessmanagementiam.html:
    # PassRole is Permissions management on `role`; list_awsx-ray.html and list_amazoncloudwatch.html:
    # PutTraceSegments and PutMetricData have no resource type (only "*").
    assert (table["s3:getobject"].access_level, "object" in table["s3:getobject"].resource_types) == ("Read", True)
    assert table["iam:passrole"].access_level == "Permissions management"
    assert not table["xray:puttracesegments"].scopable
    assert not table["cloudwatch:putmetricdata"].scopable


def test_sensitive_on_every_resource() -> None:
    assert iam.sensitive({"iam:passrole", "secretsmanager:getsecretvalue", "s3:getobject", "kms:decrypt"}) == [
        "iam:PassRole",
        "kms:Decrypt",
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
    ]
    # What AWS cannot scope, and a Read whose only resource type is a custom moderation adapter
    assert (
        iam.sensitive({"xray:puttracesegments", "cloudwatch:putmetricdata", "rekognition:detectmoderationlabels"}) == []
    )


@pytest.mark.parametrize(
    ("resource", "unbounded"),
    [
        ("*", True),
        ("arn:aws:s3:::*", True),
        ("arn:aws:sqs:us-west-2:123456789012:*", True),
        ("arn:aws:s3:::bucket/*", False),
        ("arn:aws:sqs:us-west-2:123456789012:imagegen-prod-jobs", False),
    ],
)
def test_unbounded_resources(resource: str, unbounded: bool) -> None:
    assert iam.is_unbounded_resource(resource) is unbounded


def test_not_action_allows_everything_else() -> None:
    statement = Statement("Allow", (), ("iam:*",), ("*",), None, {}, 0)
    assert allows(statement, "bedrock:InvokeModel")
    assert allows(statement, "s3:GetObject")
    assert not allows(statement, "iam:PassRole")
    partial = Statement("Allow", ("s3:Get*",), (), ("*",), None, {}, 0)
    assert allows(partial, "s3:GetObject") and not allows(partial, "s3:PutObject")
