"""Provenance: a signed C2PA manifest on images from models without a built-in watermark.

The manifest says what the guide asks an AI-content disclosure to say: the first action is
``c2pa.created`` with ``digitalSourceType`` trainedAlgorithmicMedia, the software agent is the model,
and the generation parameters (model ID, seed) travel with the image. Nova Canvas and Titan images
carry the provider's own invisible watermark (catalogue ``watermark``), so they are left untouched —
re-encoding would also destroy whatever the provider embedded.

The signing chain comes from config: deployed, a Secrets Manager secret ``{"certs": PEM chain, "key":
PEM}``; locally, ``c2pa_cert_file``/``c2pa_key_file`` (``provenance_testcerts`` makes them). It is
loaded once per container. ``c2pa`` is imported only when signing, to keep the handlers' cold start low.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_ASSERTION = "com.imagegen.generation"
CLAIM_GENERATOR = {"name": "imagegen", "version": "0.1.0"}
# The embedded thumbnail is a second JPEG encode of every image: skipped (the asset is the preview).
_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


class ProvenanceMisconfigured(RuntimeError):
    """C2PA is on but no certificate chain is configured: an operator error, not the caller's."""


@dataclass(frozen=True)
class SigningChain:
    certs: str  # leaf first, then intermediates/CA (PEM)
    key: str  # the leaf's private key (PEM)


@dataclass(frozen=True)
class GenerationFacts:
    model_id: str
    model_name: str
    provider: str
    seed: int | None
    job_id: str
    prompt_sha256: str
    parameters: dict[str, Any]
    licence_record_id: str | None = None


def parameters_digest(parameters: dict[str, Any]) -> str:
    """SHA-256 of the parameters as canonical JSON (sorted keys, no spaces): what a verifier recomputes."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def manifest_for(facts: GenerationFacts, title: str) -> dict[str, Any]:
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": facts.model_id},
        "parameters": {"model_id": facts.model_id, "seed": facts.seed},
    }
    return {
        "claim_generator_info": [CLAIM_GENERATOR],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [created]}},
            {
                "label": GENERATION_ASSERTION,
                "data": {
                    "model_id": facts.model_id,
                    "model_name": facts.model_name,
                    "provider": facts.provider,
                    "seed": facts.seed,
                    "job_id": facts.job_id,
                    # The prompt itself may be personal data; its digest still ties image to metadata.
                    "prompt_sha256": facts.prompt_sha256,
                    "parameters": facts.parameters,
                    "parameters_sha256": parameters_digest(facts.parameters),
                    "license_record_id": facts.licence_record_id,
                },
            },
        ],
    }


_CHAIN_CACHE: dict[str, SigningChain] = {}
_LOCK = threading.Lock()


def load_chain(
    secret_arn: str | None, cert_file: str | None, key_file: str | None, secrets_client: Callable[[], Any]
) -> SigningChain:
    source = secret_arn or (f"{cert_file}|{key_file}" if cert_file and key_file else None)
    if source is None:
        raise ProvenanceMisconfigured(
            "C2PA is enabled but neither IMAGEGEN_C2PA_SECRET_ARN nor IMAGEGEN_C2PA_CERT_FILE/KEY_FILE is set"
        )
    with _LOCK:
        chain = _CHAIN_CACHE.get(source)
        if chain is None:
            if secret_arn:
                document = json.loads(secrets_client().get_secret_value(SecretId=secret_arn)["SecretString"])
                chain = SigningChain(certs=document["certs"], key=document["key"])
            else:
                assert cert_file and key_file
                with open(cert_file) as certs, open(key_file) as key:
                    chain = SigningChain(certs=certs.read(), key=key.read())
            _CHAIN_CACHE[source] = chain
    return chain


def sign(data: bytes, content_type: str, facts: GenerationFacts, chain: SigningChain, title: str) -> bytes:
    """The image bytes with an embedded, signed C2PA manifest (ES256, no timestamp authority: no egress)."""
    import c2pa

    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain.certs.encode(), chain.key.encode(), None)
    settings = c2pa.Settings.from_json(json.dumps(_SETTINGS))
    out = io.BytesIO()
    with (
        c2pa.Context(settings) as context,
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(manifest_for(facts, title), context) as builder,
    ):
        builder.sign(signer, content_type, io.BytesIO(data), out)
    return out.getvalue()


def read_manifest(data: bytes, content_type: str) -> dict[str, Any]:
    """The manifest store as JSON (for tests and audits): ``active_manifest``, ``manifests``, validation."""
    import c2pa

    with c2pa.Reader(content_type, io.BytesIO(data)) as reader:
        document: dict[str, Any] = json.loads(reader.json())
    return document
