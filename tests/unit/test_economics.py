"""`imagegen cost estimate|quotas`: figures hand-computed from the documented rates, not from the code.

Model prices are those of shared/reference/bedrock-api-facts.md §8; delivery and storage rates are
the us-east-1 list prices documented in docs/partners-and-costs.md. Each expected figure below is
worked out by hand from those numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from imagegen_platform import capacity
from imagegen_platform.cli import main
from imagegen_platform.settings import BudgetSettings, load_stack

# Documented prices (USD per image) and rates, written out by hand.
TITAN_512_STANDARD = 0.008
TITAN_1024_PREMIUM = 0.012
NOVA_2048_STANDARD = 0.06
NOVA_2048_PREMIUM = 0.08
NOVA_1024_STANDARD = 0.04
SD35_LARGE = 0.08
S3_STORAGE_GB_MONTH = 0.023
S3_EGRESS_GB = 0.09
CLOUDFRONT_EGRESS_GB = 0.085
CLOUDFRONT_PER_10K_REQUESTS = 0.01
S3_GET_PER_1K = 0.0004
S3_PUT_PER_1K = 0.005


def estimate(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["cost", "estimate", *argv, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_titan_drafts_then_premium_finals(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 50,000 Titan drafts (standard, 512 class) and 5,000 winners finalised (premium, 1024 class)
    result = estimate(capsys, "--model", "titan-image-v1", "--drafts", "50000", "--finals", "5000",
                      "--avg-image-mb", "1.0", "--months-retained", "12", "--draft-months", "1")  # fmt: skip
    # THEN the model bill is 50,000 × 0.008 + 5,000 × 0.012 = 400 + 60 = 460
    assert result["model_fees_usd"] == pytest.approx(460.0)
    # AND every candidate at final quality instead would be 50,000 × 0.012 = 600: drafting saves 140
    assert result["levers"]["every_candidate_final_usd"] == pytest.approx(600.0)
    assert result["levers"]["draft_saving_usd"] == pytest.approx(140.0)
    # AND storage holds 12 months of finals + 1 month of drafts: (60,000 + 50,000) MB / 1024 = 107.42 GB
    stored_gb = (5000 * 12 + 50000 * 1) * 1.0 / 1024
    assert result["storage"]["stored_gb"] == pytest.approx(stored_gb, abs=1e-3)
    assert result["storage"]["storage_usd"] == pytest.approx(stored_gb * S3_STORAGE_GB_MONTH, abs=1e-3)  # ≈ 2.47
    assert result["storage"]["put_usd"] == pytest.approx(55000 / 1000 * S3_PUT_PER_1K)  # 0.275
    assert result["total_usd"] == pytest.approx(460 + stored_gb * S3_STORAGE_GB_MONTH + 0.275, abs=1e-3)
    # AND Titan's price is flagged UNCONFIRMED, with the catalogue's date
    assert result["unconfirmed_prices"] == ["titan-image-v1"]
    assert result["prices_as_of"] == "2026-10-28"
    lines = {(line["role"], line["size"], line["quality"]): line["unit_usd"] for line in result["lines"]}
    assert lines == {
        ("draft", "512x512", "standard"): TITAN_512_STANDARD,
        ("final", "1024x1024", "premium"): TITAN_1024_PREMIUM,
    }


def test_nova_canvas_2048_at_volume(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 100,000 Nova Canvas 2048×2048 premium images and 20,000 standard, plus 10,000 1024² standard
    result = estimate(capsys, "--images", "nova-canvas:100000:2048x2048:premium", "--images", "nova-canvas:20000:2048x2048",
                      "--images", "nova-canvas:10000:1024x1024:standard", "--avg-image-mb", "4", "--months-retained", "3")  # fmt: skip
    # THEN 100,000 × 0.08 + 20,000 × 0.06 + 10,000 × 0.04 = 8,000 + 1,200 + 400 = 9,600
    assert result["model_fees_usd"] == pytest.approx(
        100000 * NOVA_2048_PREMIUM + 20000 * NOVA_2048_STANDARD + 10000 * NOVA_1024_STANDARD
    )
    assert result["model_fees_usd"] == pytest.approx(9600.0)
    # AND 130,000 images × 4 MB × 3 months = 1,523.44 GB stored → 35.04 USD/month
    stored_gb = 130000 * 4 * 3 / 1024
    assert result["storage"]["storage_usd"] == pytest.approx(stored_gb * S3_STORAGE_GB_MONTH, abs=1e-3)
    # AND Nova's prices are the confirmed ones; no drafting lever without a mix
    assert result["unconfirmed_prices"] == []
    assert result["levers"]["draft_saving_usd"] is None


def test_egress_through_cloudfront_vs_straight_from_s3(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 10,000 GB a month of 0.5 MB images (20,480,000 requests), 90 % served from cache
    result = estimate(capsys, "--images", "sd3-5-large:1000", "--delivered-gb", "10000", "--avg-delivered-mb", "0.5",
                      "--cache-hit-ratio", "0.9")  # fmt: skip
    requests = 10000 * 1024 / 0.5
    assert result["delivery"]["requests"] == requests
    # THEN CloudFront: 10,000 × 0.085 + 2,048 × 0.01 + 2,048,000 misses × 0.0004/1k = 850 + 20.48 + 0.8192
    cloudfront = (
        10000 * CLOUDFRONT_EGRESS_GB
        + requests / 10000 * CLOUDFRONT_PER_10K_REQUESTS
        + requests * 0.1 / 1000 * S3_GET_PER_1K
    )
    assert cloudfront == pytest.approx(871.2992)
    assert result["delivery"]["cloudfront_usd"] == pytest.approx(cloudfront, abs=1e-3)
    # AND straight from S3: 10,000 × 0.09 + 20,480 × 0.0004 = 900 + 8.192
    s3_direct = 10000 * S3_EGRESS_GB + requests / 1000 * S3_GET_PER_1K
    assert result["delivery"]["s3_direct_usd"] == pytest.approx(s3_direct, abs=1e-3)
    assert result["levers"]["cdn_saving_usd"] == pytest.approx(s3_direct - cloudfront, abs=1e-3)  # ≈ 36.89
    # AND the model line is SD3.5 Large's flat price
    assert result["model_fees_usd"] == pytest.approx(1000 * SD35_LARGE)


def test_free_tier_and_views(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 5,000,000 views of 0.25 MB (1,220.7 GB) with the always-free allowances applied
    result = estimate(capsys, "--images", "stable-image-core:10", "--views", "5000000", "--avg-image-mb", "0.25",
                      "--cache-hit-ratio", "1", "--free-tier")  # fmt: skip
    gb = 5_000_000 * 0.25 / 1024
    # THEN CloudFront bills (1,220.7 − 1,024) GB and no requests (10 M free); S3 bills (1,220.7 − 100) GB + GETs
    assert result["delivery"]["cloudfront_usd"] == pytest.approx((gb - 1024) * CLOUDFRONT_EGRESS_GB, abs=1e-3)
    assert result["delivery"]["s3_direct_usd"] == pytest.approx(
        (gb - 100) * S3_EGRESS_GB + 5000 * S3_GET_PER_1K, abs=1e-3
    )


def test_scenario_file_and_final_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a YAML scenario with a draft/final mix by ratio
    scenario = tmp_path / "campaign.yaml"
    scenario.write_text(
        "draft_final: {model: titan-image-v2, drafts: 20000, final_ratio: 0.05, final_size: 1024x1024}\n"
        "images:\n  - {model: sd3-5-large, count: 500, size: '16:9'}\n"
        "storage: {avg_image_mb: 2, months_retained: 6}\n"
    )
    result = estimate(capsys, "--scenario", str(scenario))
    # THEN 20,000 × 0.008 + 1,000 × 0.012 + 500 × 0.08 = 160 + 12 + 40 = 212
    assert result["model_fees_usd"] == pytest.approx(212.0)
    assert result["levers"]["every_candidate_final_usd"] == pytest.approx(20000 * TITAN_1024_PREMIUM)
    # AND flags add to the file
    result = estimate(capsys, "--scenario", str(scenario), "--images", "stable-image-core:100")
    assert result["model_fees_usd"] == pytest.approx(212.0 + 100 * 0.04)


def test_budget_for_a_stack_is_a_valid_budget_block(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the estimate of scenario 1 (total ≈ 462.75 USD)
    result = estimate(
        capsys, "--model", "titan-image-v1", "--drafts", "50000", "--finals", "5000", "--budget-for", "customer-acme"
    )
    suggested = result["suggested_budget"]
    # THEN the budget is the total + 25 % rounded up to 10 USD: 462.75 × 1.25 = 578.4 → 580
    assert suggested["stack"] == "customer-acme"
    budget = BudgetSettings.model_validate(suggested["budget"])
    assert budget.monthly_usd == 580.0
    assert budget.emails == load_stack("customer-acme")[1].budget.emails
    assert budget.actual_thresholds_pct == [50.0, 80.0, 100.0] and budget.forecast_thresholds_pct == [100.0]
    # AND acme does not enable Titan: the estimate says so
    assert suggested["models_not_enabled"] == ["titan-image-v1"]


def test_table_output_shows_levers_dates_and_unconfirmed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "estimate", "--model", "titan-image-v1", "--drafts", "50000", "--finals", "5000", "--delivered-gb", "100",
                 "--budget-for", "customer-acme"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "2026-10-28" in out and "UNCONFIRMED" in out
    assert "saves $140.00" in out
    assert "CloudFront vs S3 egress" in out
    # (462.75 + 100 GB via CloudFront ≈ 8.61) × 1.25 = 589.2 → 590
    assert "budget:" in out and "monthly_usd: 590.0" in out


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--images", "dall-e:10"], "unknown model 'dall-e'"),
        (["--images", "nova-canvas:10:4096x4096"], "no price for 4096x4096"),
        (["--images", "sd3-5-large:10:premium"], "has no quality tiers"),
        (["--images", "nova-canvas:10:16:9"], "prices by pixels; give WIDTHxHEIGHT"),
        (["--images", "nova-canvas"], "expected MODEL:COUNT"),
        (["--model", "titan-image-v1", "--drafts", "10", "--finals", "20"], "finals (20) cannot exceed drafts (10)"),
        (["--model", "titan-image-v1", "--drafts", "10"], "give exactly one of finals"),
        (["--images", "nova-canvas:10", "--views", "5", "--delivered-gb", "1"], "give views or gb, not both"),
        (["--images", "nova-canvas:10", "--cache-hit-ratio", "1.5"], "delivery.cache_hit_ratio"),
        ([], "no volume"),
    ],
)
def test_bad_estimates_exit_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    assert main(["cost", "estimate", *argv]) == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err


# --------------------------------------------------------------------------- quotas


def test_quotas_per_model_with_derived_capacity_and_drain_time(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the prod stack (Active models only, each at its catalogue default quota: no increase requested)
    _, settings = load_stack("prod")
    assert main(["cost", "quotas", "--stack", "prod", "--backlog", "30000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in report["models"]}
    core = rows["stable-image-core"]
    assert (core["default_rpm"], core["requested_rpm"], core["planned_rpm"]) == (10, None, 10)
    # the pace starts from the catalogue's figure and never goes below a quarter of it (pacing.py)
    assert core["paced"]["start_from"] == "catalogue default" and core["paced"]["floor_rpm"] == 2.5
    assert core["region"] == "us-west-2"
    assert core["quota_name"] == "On-demand InvokeModel requests per minute for Stable Image Core"
    # THEN 30,000 images at 10 RPM drain in 3,000 minutes
    assert core["drain_minutes"] == pytest.approx(3000.0)
    # AND the capacity is the program's own derivation (capacity.py), not a copy
    assert report["worker_max_concurrency"] == capacity.worker_max_concurrency(settings)
    assert report["api_throttle"]["rate_per_second"] == capacity.api_throttle(settings).rate_per_second


def test_quotas_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "quotas", "--stack", "customer-acme", "--backlog", "600", "--images-per-request", "5"]) == 0
    out = capsys.readouterr().out
    assert "stable-image-core" in out and "worker max concurrency" in out
    # Stability models take one image per request: 600 / 10 RPM = 60 minutes
    assert "60.0 min" in out


def test_quotas_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "quotas", "--stack", "nope"]) == 2
    assert "no such stack file" in capsys.readouterr().err


def test_small_images_make_the_cdn_dearer_at_first_tier_list_prices(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 1,000,000 views of 0.1 MB images (97.66 GB), 90 % cache hits, no free tier
    result = estimate(capsys, "--images", "stable-image-core:1", "--views", "1000000", "--avg-image-mb", "0.1")
    gb = 1_000_000 * 0.1 / 1024
    # THEN CloudFront: 97.66 × 0.085 + 100 × 0.01 + 100,000 misses × 0.0004/1k = 8.30 + 1.00 + 0.04 = 9.34
    cloudfront = gb * CLOUDFRONT_EGRESS_GB + 100 * CLOUDFRONT_PER_10K_REQUESTS + 100 * S3_GET_PER_1K
    # AND S3 direct: 97.66 × 0.09 + 1,000 × 0.0004 = 8.79 + 0.40 = 9.19, so the CDN costs 0.15 more
    s3_direct = gb * S3_EGRESS_GB + 1000 * S3_GET_PER_1K
    assert result["delivery"]["cloudfront_usd"] == pytest.approx(cloudfront, abs=1e-3)
    assert result["delivery"]["s3_direct_usd"] == pytest.approx(s3_direct, abs=1e-3)
    assert result["levers"]["cdn_saving_usd"] == pytest.approx(-0.1517, abs=1e-3)
    assert (
        main(["cost", "estimate", "--images", "stable-image-core:1", "--views", "1000000", "--avg-image-mb", "0.1"])
        == 0
    )
    assert "costs $0.15 more" in capsys.readouterr().out
