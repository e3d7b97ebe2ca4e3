"""The trainer's schedule, its frozen-network rule and its resume: a run cut in two and resumed from
the checkpoint ends with the same weights as the same run in one go (same config and seed)."""
import os
import signal

import numpy as np
import pytest

from conftest import synthetic_image

torch = pytest.importorskip("torch")
from comrec_train import train  # noqa: E402  (needs torch)


def tiny_config(**extra):
    cfg = {
        "profile": "fast", "seed": 3, "crop": 32, "batch": 2, "quality_range": [10, 60],
        "lr": 0.001, "bf16": False,
        "ablation_steps": 2, "com_phase_steps": 2, "rec_phase_steps": 2, "total_steps": 8,
        "total_hours": 1, "rate_target": 1.0, "rate_lambda_init": 0.001, "rate_lambda_step": 0.05,
        "log_every": 1000, "dev_every_minutes": 1000, "checkpoint_every_minutes": 1000,
        "jpeg_qualities": [10, 30, 60], "dev_qualities": [20, 50],
    }
    cfg.update(extra)
    return cfg




def make_trainer(cfg, root, tmp):
    cfg = dict(cfg, datasets=root)
    return train.Trainer(cfg, "cpu", os.path.join(tmp, "runs"), os.path.join(tmp, "ckpt"))


def test_schedule_alternates_after_the_ablation():
    t = train.Trainer.__new__(train.Trainer)
    t.cfg = tiny_config(ablation_steps=3, com_phase_steps=2, rec_phase_steps=3)
    phases = [t.phase(s) for s in range(11)]
    assert phases == ["ablation"] * 3 + ["com"] * 2 + ["rec"] * 3 + ["com"] * 2 + ["rec"]


def test_com_step_trains_comcnn_only(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    t = make_trainer(tiny_config(), tiny_datasets, str(tmp_path))
    rec_before = {k: v.clone() for k, v in t.rec.state_dict().items()}
    com_before = {k: v.clone() for k, v in t.com.state_dict().items()}
    stats = t.com_step()
    assert set(stats) == {"mse", "ratio", "lambda"} and stats["ratio"] > 0
    assert all(torch.equal(rec_before[k], v) for k, v in t.rec.state_dict().items())
    assert any(not torch.equal(com_before[k], v) for k, v in t.com.state_dict().items())
    assert all(p.requires_grad for p in t.rec.parameters()), "RecCNN must be trainable again"
    assert all(p.grad is None for p in t.rec.parameters())


def test_resume_matches_an_uninterrupted_run(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_config()
    whole = make_trainer(cfg, tiny_datasets, str(tmp_path / "whole"))
    whole.run(hours=1)
    assert whole.step == cfg["total_steps"]
    assert whole.ablation is not None and whole.ablation["step"] == cfg["ablation_steps"]

    first = make_trainer(cfg, tiny_datasets, str(tmp_path / "cut"))
    first.run(hours=1, steps=5)  # stops in the middle of a RecCNN phase, and saves
    resumed = make_trainer(cfg, tiny_datasets, str(tmp_path / "cut"))
    assert resumed.step == 5
    resumed.run(hours=1)
    for name, net in (("com", "com"), ("rec", "rec")):
        a, b = getattr(whole, net).state_dict(), getattr(resumed, net).state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resuming"
    assert whole.log_lambda == resumed.log_lambda
    dev = [line for line in open(os.path.join(str(tmp_path / "whole"), "ckpt", "fast-dev.jsonl"))]
    assert len(dev) >= 2, "the ablation's end and the end of the first RecCNN phase are judged"


def test_sigterm_stops_after_the_step_and_saves(tiny_datasets, tmp_path):
    """`kill PID` (SIGTERM) during a run: the step finishes, the checkpoint is saved, the run
    returns; the default handler is back afterwards."""
    torch.set_num_threads(1)
    cfg = tiny_config()
    t = make_trainer(cfg, tiny_datasets, str(tmp_path))
    real_step, calls = t.rec_step, []

    def step_then_signal(*args):
        out = real_step(*args)
        calls.append(1)
        if len(calls) == 2:  # the second ablation step
            signal.raise_signal(signal.SIGTERM)
        return out

    t.rec_step = step_then_signal
    t.run(hours=1)
    assert t.step == 2
    assert make_trainer(cfg, tiny_datasets, str(tmp_path)).step == 2, "the checkpoint holds step 2"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert "stopped by SIGTERM" in open(os.path.join(str(tmp_path), "runs", "train.log")).read()


def test_reccnn_fine_tune_starts_from_a_run_and_trains_reccnn_only(tiny_datasets, tmp_path):
    """`init_from` with no ablation and no ComCNN phase: the run starts from the other run's
    best pair under its own name, judges that pair first, keeps ComCNN as it was, trains RecCNN,
    and judges its end."""
    torch.set_num_threads(1)
    source = make_trainer(tiny_config(), tiny_datasets, str(tmp_path / "source"))
    source.run(hours=1)
    source_ckpt = os.path.join(str(tmp_path / "source"), "ckpt", "fast.pt")
    cfg = tiny_config(name="fast-half-test", init_from=source_ckpt, ablation_steps=0, com_phase_steps=0,
                      rec_phase_steps=1, total_steps=3)
    t = make_trainer(cfg, tiny_datasets, str(tmp_path / "tune"))
    assert all(torch.equal(source.best["com"][k], v) for k, v in t.com.state_dict().items())
    assert all(torch.equal(source.best["rec"][k], v) for k, v in t.rec.state_dict().items())
    assert [t.phase(s) for s in range(3)] == ["rec"] * 3
    t.run(hours=1)
    assert t.step == 3
    assert all(torch.equal(source.best["com"][k], v) for k, v in t.com.state_dict().items()), "ComCNN is frozen"
    assert any(not torch.equal(source.best["rec"][k], v) for k, v in t.rec.state_dict().items())
    dev = [line for line in open(os.path.join(str(tmp_path / "tune"), "ckpt", "fast-half-test-dev.jsonl"))]
    assert len(dev) == 2, "the starting pair and the end are judged"
    assert os.path.exists(os.path.join(str(tmp_path / "tune"), "ckpt", "fast-half-test.pt"))
