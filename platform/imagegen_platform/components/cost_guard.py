"""CostGuard: the monthly budget and the operational alarms, all notifying one encrypted SNS topic.

The topic is encrypted with a customer-managed KMS key, not alias/aws/sns: AWS Budgets and
CloudWatch alarms can only publish to an encrypted topic whose key policy lets their service
principals use the key, and the AWS-managed key's policy cannot be changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from imagegen_platform.components.names import PhysicalNames
from pulumi_aws import budgets, cloudwatch, kms, sns

ALARM_PERIOD_SECONDS = 300
API_5XX_THRESHOLD = 5  # per period: one 5xx is noise, five is an outage starting
PUBLISHERS = ("budgets.amazonaws.com", "cloudwatch.amazonaws.com")


@dataclass(frozen=True)
class ThrottleWatch:
    """One Bedrock model whose throttles we alarm on, in the region it is invoked."""

    model_key: str
    model_id: str
    region: str


@dataclass(frozen=True)
class CostGuardArgs:
    names: PhysicalNames
    account_id: pulumi.Input[str]
    monthly_usd: float
    emails: tuple[str, ...]
    actual_thresholds_pct: tuple[float, ...]
    forecast_thresholds_pct: tuple[float, ...]
    dead_letter_queue_name: pulumi.Input[str]
    worker_function_name: pulumi.Input[str]
    api_id: pulumi.Input[str]
    api_stage: str
    throttle_watches: tuple[ThrottleWatch, ...]
    region: str
    """The stack's region (the provider's): alarms elsewhere need a topic of their own region."""


def alerts_key_policy(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The account's IAM policies govern the key (AWS's default key policy).
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AlertPublishersEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHERS)},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


def alerts_topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlertPublishers",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHERS)},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


class CostGuard(pulumi.ComponentResource):
    topic: sns.Topic
    budget: budgets.Budget
    alarms: list[cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:cost:CostGuard", name, None, opts)
        names = args.names
        self._name = name
        self._names = names

        self.topic = self._alert_topic(args, region=None)
        # CloudWatch sends alarm actions only to a topic in the alarm's own region (and SNS encrypts
        # with a key of the topic's region), so each model region other than the stack's gets its
        # own key, topic and subscriptions for its throttle alarms.
        self.regional_topics = {
            region: self._alert_topic(args, region=region)
            for region in sorted({w.region for w in args.throttle_watches} - {args.region})
        }

        notifications = [
            budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN",
                notification_type=kind,
                threshold=pct,
                threshold_type="PERCENTAGE",
                subscriber_sns_topic_arns=[self.topic.arn],
            )
            for kind, thresholds in (
                ("ACTUAL", args.actual_thresholds_pct),
                ("FORECASTED", args.forecast_thresholds_pct),
            )
            for pct in thresholds
        ]
        # The whole account's cost: a tag filter would read 0 until cost-allocation tags are activated.
        self.budget = budgets.Budget(
            f"{name}-budget",
            name=names.of("monthly"),
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.monthly_usd:.2f}",
            limit_unit="USD",
            notifications=notifications,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy]),
        )

        alarm = self._alarm
        self.alarms = [
            alarm("dlq-depth", description="Jobs reached the dead-letter queue", namespace="AWS/SQS",
                  metric="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": args.dead_letter_queue_name},
                  statistic="Maximum", above=0),
            alarm("worker-errors", description="The worker function failed", namespace="AWS/Lambda",
                  metric="Errors", dimensions={"FunctionName": args.worker_function_name}, statistic="Sum", above=0),
            alarm("api-5xx", description="The HTTP API answers 5xx", namespace="AWS/ApiGateway", metric="5xx",
                  dimensions={"ApiId": args.api_id, "Stage": args.api_stage}, statistic="Sum",
                  above=API_5XX_THRESHOLD - 1),
        ]  # fmt: skip
        self.alarms += [
            alarm(f"throttles-{watch.model_key}", description=f"Bedrock throttles {watch.model_id}",
                  namespace="AWS/Bedrock", metric="InvocationThrottles", dimensions={"ModelId": watch.model_id},
                  statistic="Sum", above=0, region=watch.region)
            for watch in args.throttle_watches
        ]  # fmt: skip
        self.register_outputs({"alertsTopicArn": self.topic.arn, "budgetName": self.budget.name})

    def _alert_topic(self, args: CostGuardArgs, *, region: str | None) -> sns.Topic:
        """An encrypted topic, its key and the e-mail subscriptions; ``region`` None: the stack's."""
        name, names = self._name, self._names
        at = "" if region is None else f"-{region}"
        child = pulumi.ResourceOptions(parent=self)
        key = kms.Key(
            f"{name}-alerts-key{at}",
            description=f"Encrypts {names.base} alert notifications",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(args.account_id).apply(lambda a: json.dumps(alerts_key_policy(a))),
            region=region,
            opts=child,
        )
        kms.Alias(f"{name}-alerts-key-alias{at}", name=f"alias/{names.of('alerts')}", target_key_id=key.key_id, region=region, opts=child)  # fmt: skip
        topic = sns.Topic(f"{name}-alerts{at}", name=names.of("alerts"), kms_master_key_id=key.arn, region=region, opts=child)  # fmt: skip
        policy = sns.TopicPolicy(
            f"{name}-alerts-policy{at}",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                lambda v: json.dumps(alerts_topic_policy(v[0], v[1]))
            ),
            region=region,
            opts=child,
        )
        for index, email in enumerate(args.emails):
            sns.TopicSubscription(
                f"{name}-email-{index}{at}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                region=region,
                opts=child,
            )
        if region is None:
            self.key, self.topic_policy = key, policy
        return topic

    def _alarm(
        self,
        slug: str,
        *,
        description: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
        statistic: str,
        above: float,
        region: str | None = None,
    ) -> cloudwatch.MetricAlarm:
        topic = self.topic if region is None else self.regional_topics.get(region, self.topic)
        actions: Sequence[pulumi.Input[str]] = [topic.arn]
        return cloudwatch.MetricAlarm(
            f"{self._name}-{slug}",
            name=self._names.of(slug),
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=above,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
