"""Metered jobs through the Python API, on SQLite and PostgreSQL (rules 5, 17 to 20)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from creditflow.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
)
from creditflow.engine import Engine
from creditflow.services.jobs import JobOutput
from tests.factories import ledger_sum, make_account
from tests.images import image_bytes, png

EngineWith = Callable[[str], Engine]
RESULT = JobOutput(data=png((128, 96)), content_type="image/png", name="upscaled.png")


def stored_files(engine: Engine) -> list[Path]:
    root = engine.files.root  # type: ignore[attr-defined]
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def funded(engine: Engine, credits: int = 10_000) -> str:
    account = make_account(engine).id
    engine.grant(account, credits=credits, kind="purchased", reason="test")
    return account


def test_rule_20_a_job_holds_its_cost_and_success_captures_it(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    assert (job.status, job.cost, job.free_quota_used) == ("queued", 300, False)
    assert job.hold_id is not None
    assert (job.input.format, job.input.width, job.input.height) == ("png", 64, 48)
    balance = engine.balance(account)
    assert (balance.available, balance.held) == (9700, 300)
    claimed = engine.claim_job(worker="w1")
    assert claimed is not None and claimed.id == job.id and claimed.status == "running"
    assert claimed.deadline_at == claimed.claimed_at + timedelta(seconds=900)  # type: ignore[operator]
    done = engine.complete_job(job.id, outputs=[RESULT])
    assert done.status == "succeeded"
    assert [o.url for o in done.outputs] == [f"/v1/jobs/{job.id}/outputs/0"]
    balance = engine.balance(account)
    assert (balance.available, balance.held) == (9700, 0)
    types = [e.type for e in engine.ledger(account).data]
    assert types[:2] == ["capture", "hold"]
    assert ledger_sum(engine, account) == (9700, 0)


def test_rule_20_a_failed_job_costs_nothing_and_its_release_names_the_job(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="generate", image=png(), params={"loras": ["a"]})
    assert job.cost == 1100  # 1000 + 100 per LoRA
    engine.claim_job(worker="w1")
    failed = engine.fail_job(job.id, error="CUDA out of memory")
    assert (failed.status, failed.error) == ("failed", "CUDA out of memory")
    assert engine.balance(account).available == 10_000
    release = engine.ledger(account).data[0]
    assert (release.type, release.credits, release.reference) == ("release", 1100, job.id)
    hold = engine.get_hold(job.hold_id or "")
    assert hold.status == "released"


def test_rule_5_a_claimed_job_past_its_time_out_is_failed_and_released_by_the_clock(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    engine.claim_job()
    engine.advance_clock(seconds=899)
    assert engine.job(job.id).status == "running"
    engine.advance_clock(seconds=1)
    timed_out = engine.job(job.id)
    assert timed_out.status == "failed" and "timed out" in (timed_out.error or "")
    assert engine.balance(account).available == 10_000
    with pytest.raises(Conflict) as late:
        engine.complete_job(job.id, outputs=[RESULT])
    assert late.value.code == "job_finished"


def test_a_job_no_worker_takes_within_a_day_fails_and_gives_its_credits_back(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    engine.advance_clock(seconds=24 * 3600)
    assert engine.job(job.id).status == "failed"
    assert engine.balance(account).available == 10_000
    assert engine.claim_job() is None


def test_rule_18_too_many_loras_are_refused_before_anything_is_held_or_stored(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    with pytest.raises(Forbidden) as error:
        engine.create_job(
            account, operation="generate", image=png(), params={"loras": ["a", "b", "c", "d"]}
        )
    assert error.value.code == "entitlement_exceeded"
    assert engine.balance(account).held == 0
    assert engine.jobs(account).data == []
    assert stored_files(engine) == []


def test_rule_17_a_training_uses_a_free_training_then_credits_and_a_failure_gives_it_back(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine, 100_000)
    engine.subscribe(account, plan="tier1", interval="month")  # 3 free trainings a cycle
    free = [engine.create_job(account, operation="lora_training", image=png()) for _ in range(3)]
    assert [(j.cost, j.free_quota_used, j.hold_id) for j in free] == [(0, True, None)] * 3
    paid = engine.create_job(account, operation="lora_training", image=png())
    assert (paid.cost, paid.free_quota_used) == (20_000, False)
    trainings = engine.entitlements(account).features["free_lora_trainings"]
    assert (trainings.used, trainings.remaining) == (3, 0)
    claimed = engine.claim_job(operations=["lora_training"])
    assert claimed is not None and claimed.id == free[0].id
    engine.fail_job(claimed.id, error="diverged")
    assert engine.entitlements(account).features["free_lora_trainings"].remaining == 1
    again = engine.create_job(account, operation="lora_training", image=png())
    assert again.free_quota_used


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (image_bytes("GIF"), "unsupported_format"),
        (b"not an image at all", "unsupported_format"),
        (png((5000, 10)), "dimensions_too_large"),
        (png()[:40], "corrupt"),
    ],
)
def test_rule_19_a_rejected_image_holds_and_stores_nothing(
    engine_with: EngineWith, image: bytes, reason: str
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    with pytest.raises(InvalidImage) as error:
        engine.create_job(account, operation="upscale", image=image)
    assert error.value.details["reason"] == reason
    assert engine.balance(account).available == 10_000
    assert engine.jobs(account).data == [] and stored_files(engine) == []


def test_a_job_the_account_cannot_pay_for_is_refused_with_402_and_stores_nothing(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine, 100)
    with pytest.raises(InsufficientCredits):
        engine.create_job(account, operation="upscale", image=png())
    with pytest.raises(InvalidRequest, match="Unknown operation"):
        engine.create_job(account, operation="tag", image=png())
    with pytest.raises(InvalidRequest, match="loras"):
        engine.create_job(account, operation="generate", image=png(), params={"loras": [1]})
    assert engine.jobs(account).data == [] and stored_files(engine) == []


def test_finishing_a_job_twice_or_before_it_is_claimed_is_a_conflict(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    with pytest.raises(Conflict) as early:
        engine.complete_job(job.id, outputs=[RESULT])
    assert early.value.code == "job_not_claimed"
    engine.claim_job()
    engine.complete_job(job.id, outputs=[RESULT])
    for finish in (
        lambda: engine.complete_job(job.id, outputs=[RESULT]),
        lambda: engine.fail_job(job.id, error="late"),
    ):
        with pytest.raises(Conflict) as twice:
            finish()
        assert twice.value.code == "job_finished"
    assert engine.balance(account).available == 9700


def test_rule_20_downloads_of_outputs_are_recorded(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    engine.claim_job()
    engine.complete_job(job.id, outputs=[RESULT])
    output, data = engine.download_output(job.id, 0, key_id="key_site")
    assert (output.content_type, data) == ("image/png", RESULT.data)
    engine.advance_clock(seconds=60)
    engine.download_output(job.id, 0, key_id="key_site")
    downloads = engine.downloads(job.id)
    assert [d.key_id for d in downloads] == ["key_site", "key_site"]
    assert downloads[1].at - downloads[0].at == timedelta(seconds=60)
    assert engine.job_input(job.id) == ("image/png", png())


def test_concurrent_claimers_never_get_the_same_job(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = funded(engine, 1_000_000)
    created = {engine.create_job(account, operation="upscale", image=png()).id for _ in range(40)}
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claimer(n: int) -> None:
        start.wait()
        while (job := engine.claim_job(worker=f"w{n}")) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(created)  # every job once, none twice
    assert {engine.job(j).status for j in created} == {"running"}
