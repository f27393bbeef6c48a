"""How many messages an SQS queue holds, and when it is empty, read the way SQS documents.

SQS reports three disjoint counts (GetQueueAttributes; SQS Developer Guide, "Resources required to
process Amazon SQS messages"): available (``ApproximateNumberOfMessages``), in flight
(``ApproximateNumberOfMessagesNotVisible``) and delayed (``ApproximateNumberOfMessagesDelayed``,
e.g. a job the worker deferred with ``DelaySeconds``). A queue holds their sum; leaving out the delayed
count calls a queue empty while deferred jobs wait in it.

One reading that says zero is not proof of an empty queue. AWS: "If all metric values are set to 0
for several minutes, the queue is considered empty" (SQS Developer Guide, "Troubleshooting messages
not returned for an Amazon SQS ReceiveMessage API call"). moto, which the local platform runs on,
shows why: it computes the three counts one after another from the clock, so a message whose
visibility timeout (or delay) ends between two of them is in none. Polled tightly, 7 of 51 such
transitions of a one-message queue read 0 (moto 5, this machine). A message is missed only while it
crosses that boundary, after which it is counted as available; so locally, two zero readings a moment
apart prove the queue empty. Against a real queue, poll for minutes as AWS says.
"""

from __future__ import annotations

import time
from typing import Any

DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
EMPTY_READINGS = 2  # consecutive zero readings before a queue is called empty
EMPTY_INTERVAL_S = 0.05


def depth(sqs: Any, queue_url: str) -> int:
    """Available + in flight + delayed messages, one reading (approximate, as SQS says)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in DEPTH_ATTRIBUTES)


def is_empty(sqs: Any, queue_url: str, *, readings: int = EMPTY_READINGS, interval_s: float = EMPTY_INTERVAL_S) -> bool:
    """True when ``readings`` consecutive readings, ``interval_s`` apart, all count no message."""
    for reading in range(readings):
        if reading:
            time.sleep(interval_s)
        if depth(sqs, queue_url):
            return False
    return True
