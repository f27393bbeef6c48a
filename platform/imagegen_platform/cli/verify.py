"""``imagegen verify FILE``: is this image what imagegen made, bound to these pixels, and by whom?

Offline it checks the embedded C2PA manifest (signature, hash binding) and prints what it claims.
``--trust-anchor PEM`` pins the CA the stack signs with: then a manifest signed by any other key
fails. ``--local URL --token T`` / ``--api-url URL`` also fetch the service's record of the image
(``GET /v1/images/{image_id}/provenance``, image_id = the file's SHA-256 unless ``--image-id``) and
fail on any difference. Exit 0 when valid (and trusted, and matching, when asked); 1 when the
manifest is absent, altered, not bound to these bytes, untrusted under a pinned anchor, or
disagrees with the record; 2 on bad flags.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError

_IMAGE_ID = re.compile(r"[0-9a-f]{64}")


def register(subparsers: Any) -> None:
    from imagegen_platform.cli.client import _target_args

    verify = subparsers.add_parser(
        "verify", help="check an image's C2PA manifest (signature, hash binding) and what it claims"
    )
    verify.add_argument("file", type=Path, help="a PNG or JPEG image (e.g. from out/demo/images/)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument(
        "--trust-anchor",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="CA certificate(s) the signer must chain to (repeatable); locally .imagegen/c2pa-certs.pem",
    )
    verify.add_argument("--image-id", help="compare with this image's record (default: the file's SHA-256)")
    _target_args(verify)
    verify.set_defaults(handler=run_verify)


def _anchors(paths: list[Path]) -> str | None:
    from cryptography import x509

    texts = []
    for path in paths:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"--trust-anchor: cannot read {path}: {error}", 2) from None
        try:
            x509.load_pem_x509_certificates(text.encode())
        except ValueError:
            raise CommandError(f"--trust-anchor: {path} holds no PEM certificate", 2) from None
        texts.append(text)
    return "\n".join(texts) if texts else None


def run_verify(args: argparse.Namespace) -> int:
    from imagegen_service import provenance_check

    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise CommandError(f"FILE: cannot read {args.file}: {error.strerror}", 2) from None
    if args.image_id is not None and not _IMAGE_ID.fullmatch(args.image_id):
        raise CommandError("--image-id: must be 64 lower-case hex characters (the SHA-256 of the image)", 2)
    anchors = _anchors(args.trust_anchor)
    online = bool(args.local or args.api_url)
    client = None
    if online:
        from imagegen_platform.cli.client import _client

        client = _client(args)  # flag errors (no token, both targets) before any work
    found = provenance_check.check(data, anchors)
    report: dict[str, Any] = {"file": str(args.file), **found.as_dict(), "record": None, "mismatches": []}
    failed = not found.valid or found.trusted is False
    if client is not None:
        record, mismatches = _against_record(client, args.image_id or found.sha256, found)
        report["record"] = record
        report["mismatches"] = mismatches
        failed = failed or bool(mismatches)
    report["watermark"] = (report["record"] or {}).get("watermark")
    report["verdict"] = _verdict(found, failed, report["mismatches"])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report, anchored=anchors is not None, online=online)
    return 1 if failed else 0


def _against_record(client: Any, image_id: str, found: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    from imagegen_local.client import ApiError
    from imagegen_service import provenance_check

    try:
        record: dict[str, Any] = client.provenance(image_id)
    except ApiError as error:
        if error.status == 404:
            problem = f"the service has no image {image_id}: it never stored these bytes"
            return None, [{"field": "image_id", "file": image_id, "record": None, "message": problem}]
        fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.details)
        raise CommandError(f"{error.code}: {error.message}" + (f" ({fields})" if fields else ""), 1) from None
    return record, provenance_check.compare_with_record(found, record)


def _verdict(found: Any, failed: bool, mismatches: list[dict[str, Any]]) -> str:
    if not found.manifest:
        return "absent"
    if not found.valid:
        return "invalid"
    if found.trusted is False:
        return "untrusted"
    if mismatches:
        return "mismatch"
    return "trusted" if found.trusted else "valid"


def _print(report: dict[str, Any], *, anchored: bool, online: bool) -> None:
    from imagegen_service.provenance_check import WATERMARK_NOTE

    verdict = report["verdict"]
    headline = {
        "absent": "NO MANIFEST: the image carries no C2PA manifest",
        "invalid": "INVALID: the manifest is altered or not bound to these bytes",
        "untrusted": "UNTRUSTED: intact, but the signer chains to none of the pinned anchors",
        "mismatch": "MISMATCH: the file disagrees with the service's record",
        "trusted": "TRUSTED: signature and hash binding hold; the signer chains to a pinned anchor",
        "valid": "VALID: signature and hash binding hold"
        + ("" if anchored else " (signer not judged: pin the stack's CA with --trust-anchor)"),
    }[verdict]
    print(f"{report['file']}: {headline}")
    signer = report.get("signer") or {}
    who = None
    if signer:
        who = f"{signer.get('common_name')} (issuer {signer.get('issuer')}, serial {signer.get('serial_number')})"
    rows = [
        ("sha256", report["sha256"]),
        ("signer", who),
        ("claim generator", report.get("claim_generator")),
        ("model", report.get("model_id")),
        ("seed", report.get("seed")),
        ("parameters sha256", report.get("parameters_sha256")),
        ("licence record", report.get("license_record_id")),
        ("fingerprint", report.get("fingerprint")),
    ]
    for name, value in rows:
        if value is not None:
            print(f"  {name:<18} {value}")
    for problem in report["problems"]:
        print(f"  problem            {problem['code']}: {problem['explanation']}")
    if online:
        record = report.get("record")
        if record is not None and not report["mismatches"]:
            print(f"  record             matches image {record.get('image_id')} (job {record.get('job_id')})")
        for item in report["mismatches"]:
            why = item.get("message") or f"file {item['file']!r} ≠ record {item['record']!r}"
            print(f"  mismatch           {item['field']}: {why}")
    watermark = report.get("watermark") or {}
    if watermark.get("claimed"):
        print(f"  watermark          {watermark.get('note') or WATERMARK_NOTE}")
    elif verdict == "absent" and not online:
        print(
            "  note               images from Amazon models carry the provider's invisible watermark instead "
            "of a manifest; it cannot be verified offline (use --local/--api-url to see the service's record)"
        )
