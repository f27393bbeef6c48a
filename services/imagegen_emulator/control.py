"""The Bedrock control plane of one emulated account, and its Service Quotas for Bedrock.

What ``imagegen doctor`` asks before a deploy: which foundation models a region offers
(``ListFoundationModels``, ``GetFoundationModel``), their lifecycle as Bedrock reports it, and whether
this account may use each one (``GetFoundationModelAvailability``: agreement, authorization,
entitlement, region). By default the account is the catalogue's view: every model offered in its
catalogue regions, its lifecycle status on the emulator's date, every agreement in place. An
``AccountState`` overrides that per model, so tests can set up the accounts partners meet:

    {"models": {"stable-image-core": {"not_offered_in": ["us-west-2"]},
                "sd3-5-large": {"agreement": "PENDING"},
                "titan-image-v1": {"lifecycle": "LEGACY", "entitlement": "NOT_AVAILABLE"}},
     "quotas": {"us-west-2": {"L-7DBB06FD": 120}}}

Shapes and enums are botocore's service model for ``bedrock`` (``FoundationModelSummary``,
``FoundationModelDetails``, ``GetFoundationModelAvailabilityResponse``) and ``service-quotas``
(``ServiceQuota``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from imagegen_service import catalogue
from imagegen_service.catalogue import ModelSpec

from imagegen_emulator import exceptions as exc

AGREEMENT = ("AVAILABLE", "PENDING", "NOT_AVAILABLE", "ERROR")
AUTHORIZATION = ("AUTHORIZED", "NOT_AUTHORIZED")
ENTITLEMENT = ("AVAILABLE", "NOT_AVAILABLE")
LIFECYCLE = ("ACTIVE", "LEGACY")
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."
QUOTA_UNIT = "None"  # what Service Quotas reports for per-minute request quotas


class AccountStateInvalid(ValueError):
    """An account state the emulator cannot use; the message names the field."""


@dataclass(frozen=True)
class ModelAccount:
    """One model as this account sees it."""

    not_offered_in: frozenset[str] = frozenset()
    lifecycle: str | None = None  # None: the catalogue's status on the emulator's date
    agreement: str = "AVAILABLE"
    agreement_error: str | None = None
    authorization: str = "AUTHORIZED"
    entitlement: str = "AVAILABLE"
    quota_code: str | None = None  # a Service Quotas code for this model, where the catalogue has none


@dataclass(frozen=True)
class AccountState:
    models: Mapping[str, ModelAccount] = field(default_factory=dict)  # catalogue key → view
    quotas: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # region → code → value

    def model(self, spec: ModelSpec) -> ModelAccount:
        return self.models.get(spec.key, ModelAccount())

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> AccountState:
        if not isinstance(document, Mapping):
            raise AccountStateInvalid("account: expected a JSON object with 'models' and/or 'quotas'")
        unknown = set(document) - {"models", "quotas"}
        if unknown:
            raise AccountStateInvalid(f"account: unknown field(s) {', '.join(sorted(unknown))}")
        models: dict[str, ModelAccount] = {}
        for name, raw in dict(document.get("models") or {}).items():
            models[_model_key(name)] = _model_account(name, raw)
        quotas: dict[str, dict[str, float]] = {}
        for region, codes in dict(document.get("quotas") or {}).items():
            if not isinstance(codes, Mapping):
                raise AccountStateInvalid(f"quotas.{region}: expected an object of quota code → value")
            for code, value in codes.items():
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise AccountStateInvalid(f"quotas.{region}.{code}: {value!r} is not a non-negative number")
                quotas.setdefault(str(region), {})[str(code)] = float(value)
        return cls(models=models, quotas=quotas)


def _model_key(name: str) -> str:
    try:
        return catalogue.lookup(name).key
    except catalogue.UnknownModel:
        raise AccountStateInvalid(f"models.{name}: not a catalogue key or model ID") from None


def _model_account(name: str, raw: Any) -> ModelAccount:
    if not isinstance(raw, Mapping):
        raise AccountStateInvalid(f"models.{name}: expected an object")
    allowed = {f: getattr(ModelAccount(), f) for f in ModelAccount.__dataclass_fields__}
    unknown = set(raw) - set(allowed)
    if unknown:
        raise AccountStateInvalid(f"models.{name}: unknown field(s) {', '.join(sorted(unknown))}")
    view = ModelAccount()
    for field_name, choices in (
        ("lifecycle", LIFECYCLE),
        ("agreement", AGREEMENT),
        ("authorization", AUTHORIZATION),
        ("entitlement", ENTITLEMENT),
    ):
        if field_name in raw:
            value = raw[field_name]
            if value not in choices:
                raise AccountStateInvalid(f"models.{name}.{field_name}: {value!r} is not one of {', '.join(choices)}")
            view = replace(view, **{field_name: value})
    if "not_offered_in" in raw:
        regions = raw["not_offered_in"]
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            raise AccountStateInvalid(f"models.{name}.not_offered_in: expected a list of region names")
        view = replace(view, not_offered_in=frozenset(regions))
    if "agreement_error" in raw:
        view = replace(view, agreement_error=str(raw["agreement_error"]))
    if "quota_code" in raw:
        view = replace(view, quota_code=str(raw["quota_code"]))
    return view


class ControlPlane:
    """Answers the control-plane calls for one account; the state can be replaced while serving."""

    def __init__(self, today: Any, rpm: Mapping[str, int] | None = None) -> None:
        self._today = today  # a callable returning the emulator's date
        self._rpm = dict(rpm or {})
        self._lock = threading.Lock()
        self._state = AccountState()

    @property
    def state(self) -> AccountState:
        with self._lock:
            return self._state

    def set_state(self, state: AccountState) -> None:
        with self._lock:
            self._state = state

    # ------------------------------------------------------------------ views
    def _status(self, spec: ModelSpec) -> str | None:
        """ACTIVE / LEGACY as Bedrock reports it; None once the model is past its end of life (gone)."""
        override = self.state.model(spec).lifecycle
        catalogued = spec.lifecycle.status_on(self._today())
        if catalogued is catalogue.Status.END_OF_LIFE:
            return None
        if override is not None:
            return override
        return "LEGACY" if catalogued is catalogue.Status.LEGACY else "ACTIVE"

    def _offered(self, spec: ModelSpec, region: str) -> bool:
        return region in spec.regions and region not in self.state.model(spec).not_offered_in

    def _summary(self, spec: ModelSpec, region: str, status: str) -> dict[str, Any]:
        model_id = spec.foundation_model_id
        return {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": spec.name,
            "providerName": spec.provider,
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["IMAGE"],
            "responseStreamingSupported": False,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["INFERENCE_PROFILE"] if spec.inference_profile else ["ON_DEMAND"],
            "modelLifecycle": {"status": status},
        }

    def _find(self, identifier: str, region: str) -> ModelSpec:
        model_id = identifier.rsplit("foundation-model/", 1)[-1]
        try:
            spec = catalogue.lookup(model_id)
        except catalogue.UnknownModel:
            raise exc.ValidationException(INVALID_MODEL_MESSAGE) from None
        if self._status(spec) is None:
            raise exc.ResourceNotFoundException(exc.END_OF_LIFE_MESSAGE)
        if not self._offered(spec, region):
            raise exc.ValidationException(INVALID_MODEL_MESSAGE)
        return spec

    # ------------------------------------------------------------------ operations
    def list_foundation_models(self, region: str, query: Mapping[str, str]) -> dict[str, Any]:
        provider = query.get("byProvider", "").lower()
        modality = query.get("byOutputModality")
        inference = query.get("byInferenceType")
        summaries = []
        if query.get("byCustomizationType") is None and modality in (None, "IMAGE"):
            for spec in catalogue.all_models():
                status = self._status(spec)
                if status is None or not self._offered(spec, region):
                    continue
                if provider and provider not in spec.provider.lower():
                    continue
                summary = self._summary(spec, region, status)
                if inference is not None and inference not in summary["inferenceTypesSupported"]:
                    continue
                summaries.append(summary)
        return {"modelSummaries": summaries}

    def get_foundation_model(self, identifier: str, region: str) -> dict[str, Any]:
        spec = self._find(identifier, region)
        status = self._status(spec) or "ACTIVE"
        details = self._summary(spec, region, status)
        lifecycle = spec.lifecycle
        if status == "LEGACY" and lifecycle.legacy_since is not None:
            details["modelLifecycle"]["legacyTime"] = _timestamp(lifecycle.legacy_since)
        if lifecycle.end_of_life is not None:
            details["modelLifecycle"]["endOfLifeTime"] = _timestamp(lifecycle.end_of_life)
        return {"modelDetails": details}

    def get_foundation_model_availability(self, identifier: str, region: str) -> dict[str, Any]:
        model_id = identifier.rsplit("foundation-model/", 1)[-1]
        try:
            spec = catalogue.lookup(model_id)
        except catalogue.UnknownModel:
            raise exc.ValidationException(INVALID_MODEL_MESSAGE) from None
        view = self.state.model(spec)
        agreement: dict[str, Any] = {"status": view.agreement}
        if view.agreement_error:
            agreement["errorMessage"] = view.agreement_error
        return {
            "modelId": spec.foundation_model_id,
            "agreementAvailability": agreement,
            "authorizationStatus": view.authorization,
            "entitlementAvailability": view.entitlement,
            "regionAvailability": "AVAILABLE" if self._offered(spec, region) else "NOT_AVAILABLE",
        }

    def get_service_quota(self, body: Mapping[str, Any], region: str) -> dict[str, Any]:
        """Service Quotas ``GetServiceQuota`` for Bedrock's per-model RPM quotas."""
        service_code, quota_code = str(body.get("ServiceCode", "")), str(body.get("QuotaCode", ""))
        if service_code != "bedrock":
            raise exc.NoSuchResourceException(f"The service code {service_code} is not emulated (only bedrock).")
        state = self.state
        for spec in catalogue.all_models():
            code = state.model(spec).quota_code or spec.quota.code
            if code != quota_code:
                continue
            value = state.quotas.get(region, {}).get(code)
            if value is None:
                value = float(self._rpm.get(spec.key, spec.quota.default_rpm))
            return {
                "Quota": {
                    "ServiceCode": "bedrock",
                    "ServiceName": "Amazon Bedrock",
                    "QuotaArn": f"arn:aws:servicequotas:{region}:000000000000:bedrock/{code}",
                    "QuotaCode": code,
                    "QuotaName": spec.quota.name,
                    "Value": value,
                    "Unit": QUOTA_UNIT,
                    "Adjustable": spec.quota.adjustable,
                    "GlobalQuota": False,
                }
            }
        raise exc.NoSuchResourceException(
            f"The request failed because the specified quota {quota_code} does not exist."
        )


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
