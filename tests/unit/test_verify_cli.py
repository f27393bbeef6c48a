"""``imagegen verify`` on bad input: one clear line naming the flag, no traceback, the right exit code."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from imagegen_platform.cli import main
from imagegen_service import provenance
from imagegen_service.provenance_testcerts import make_test_chain
from PIL import Image


@pytest.fixture(scope="module")
def signed_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chain = make_test_chain()
    raw = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(raw, "PNG")
    facts = provenance.GenerationFacts("stability.sd3-5-large-v1:0", "SD3.5 Large", "Stability AI", 3, "f", "0", {})
    data = provenance.sign(raw.getvalue(), "image/png", facts, provenance.SigningChain(chain.certs, chain.key), "a")
    path = tmp_path_factory.mktemp("verify") / "signed.png"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("flags", "code", "names"),
    [
        (["verify", "/nonexistent/x.png"], 2, "FILE: cannot read"),
        (["verify", "{png}", "--image-id", "xyz"], 2, "--image-id: must be 64"),
        (["verify", "{png}", "--trust-anchor", "/nonexistent.pem"], 2, "--trust-anchor: cannot read"),
        (["verify", "{png}", "--trust-anchor", "{png}"], 2, "--trust-anchor"),
        (["verify", "{png}", "--local", "http://127.0.0.1:9"], 2, "--token"),
        (["verify", "{png}", "--local", "http://127.0.0.1:9", "--api-url", "http://x"], 2, "give one target"),
    ],
)
def test_bad_flags_name_the_flag(
    signed_png: Path, flags: list[str], code: int, names: str, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("IMAGEGEN_TOKEN", raising=False)
    argv = [str(signed_png) if flag == "{png}" else flag for flag in flags]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert names in err and "Traceback" not in err


def test_a_file_that_is_not_an_image_fails_with_the_reason(tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert main(["verify", str(text)]) == 1
    assert "not a PNG or JPEG" in capsys.readouterr().out


def test_an_untrusted_valid_manifest_says_trust_was_not_judged(signed_png: Path, capsys) -> None:
    assert main(["verify", str(signed_png)]) == 0
    out = capsys.readouterr().out
    assert "VALID" in out and "--trust-anchor" in out and "stability.sd3-5-large-v1:0" in out
