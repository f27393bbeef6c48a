"""JobQueue: the jobs queue and its dead-letter queue.

Every job ends as an image or as a DLQ message: after ``max_receive_count`` failed receives SQS
moves it to the DLQ, which keeps it for the 14-day maximum and alarms on any depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from imagegen_platform.components.names import PhysicalNames
from pulumi_aws import sqs

VISIBILITY_PER_FUNCTION_TIMEOUT = 6
"""AWS: set the queue's visibility timeout to at least six times the function timeout."""
MAX_VISIBILITY_SECONDS = 43_200
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum
JOBS_RETENTION_SECONDS = 4 * 24 * 3600
LONG_POLL_SECONDS = 20


def visibility_timeout(worker_timeout_seconds: int, batch_window_seconds: int = 0) -> int:
    return min(MAX_VISIBILITY_SECONDS, VISIBILITY_PER_FUNCTION_TIMEOUT * worker_timeout_seconds + batch_window_seconds)


@dataclass(frozen=True)
class JobQueueArgs:
    names: PhysicalNames
    region: str
    account_id: pulumi.Input[str]
    worker_timeout_seconds: int
    max_receive_count: int


class JobQueue(pulumi.ComponentResource):
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue

    def __init__(self, name: str, args: JobQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:queue:JobQueue", name, None, opts)
        names = args.names
        # The jobs queue's ARN is known from its explicit name, so the DLQ can name its only source.
        jobs_arn = pulumi.Output.concat("arn:aws:sqs:", args.region, ":", args.account_id, ":", names.jobs_queue)
        self.dead_letter_queue = sqs.Queue(
            f"{name}-dlq",
            name=names.dead_letter_queue,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_allow_policy=jobs_arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.queue = sqs.Queue(
            f"{name}-jobs",
            name=names.jobs_queue,
            visibility_timeout_seconds=visibility_timeout(args.worker_timeout_seconds),
            message_retention_seconds=JOBS_RETENTION_SECONDS,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "queueUrl": self.queue.url,
                "queueArn": self.queue.arn,
                "dlqUrl": self.dead_letter_queue.url,
                "dlqArn": self.dead_letter_queue.arn,
            }
        )
