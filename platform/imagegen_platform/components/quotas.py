"""ModelQuotas: Service Quotas increase requests for the models' on-demand InvokeModel RPM.

Only where the stack asks (``quota_request_rpm``), in the region the model is invoked, with the
quota code from the settings or the catalogue. Deleting the resource withdraws nothing (AWS).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_aws import servicequotas


@dataclass(frozen=True)
class QuotaRequest:
    model_key: str
    service_code: str
    quota_code: str
    region: str
    rpm: int


@dataclass(frozen=True)
class ModelQuotasArgs:
    requests: tuple[QuotaRequest, ...]


class ModelQuotas(pulumi.ComponentResource):
    quotas: list[servicequotas.ServiceQuota]

    def __init__(self, name: str, args: ModelQuotasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:quotas:ModelQuotas", name, None, opts)
        self.quotas = [
            servicequotas.ServiceQuota(
                f"{name}-{request.model_key}",
                service_code=request.service_code,
                quota_code=request.quota_code,
                value=float(request.rpm),
                region=request.region,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for request in args.requests
        ]
        self.register_outputs({"requested": {r.model_key: r.rpm for r in args.requests}})
