"""Training budgets (core/budget.py), early stopping restoring the best evaluation, and token-budget micro-batches
with gradient accumulation (core/models/token_budget.py + core.trainer._update). Tiny models, one thread."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
import torch

import core.trainer_eval as trainer_eval
from core import budget
from core.budget import plan_budget
from core.models.token_budget import WIDTH_MULTIPLE, padded_width, take, token_pieces
from core.trainer import LoopConfig, _update, train_loop
from tests.test_trainer import _setup, toy_dataset


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")


# ------------------------------------------------------------------------------------------------ the rule
@pytest.mark.parametrize("family", ["transformer", "rnn", "scratch_transformer", "default"])
def test_budget_monotone_in_rows_and_classes_with_a_minimum_of_steps(family):
    rule = budget.RULES[family]
    rows = [50, 200, 1_000, 5_000, 20_000, 120_000]
    plans = [plan_budget(n, 4, 32, family) for n in rows]
    epochs = [p.epochs for p in plans]
    assert epochs == sorted(epochs, reverse=True), "more rows must never mean more epochs"
    assert epochs[0] > epochs[-1]
    for p in plans:  # the minimum number of optimizer steps, unless the epoch cap binds
        assert p.total_steps >= p.target_steps or p.epochs == rule.max_epochs
        assert rule.min_epochs <= p.epochs <= rule.max_epochs or p.epochs == 1
    by_classes = [plan_budget(2_000, k, 32, family) for k in (2, 4, 10, 40, 77, 200)]
    steps = [p.total_steps for p in by_classes]
    assert steps == sorted(steps) and steps[-1] > steps[0], "more classes must never mean fewer steps"
    assert all(p.source == "auto" for p in plans + by_classes)


def test_budget_small_data_many_classes_big_data_and_user_epochs():
    small = plan_budget(10_000, 77, 32, "transformer")  # 77 intents: several epochs, not the old fixed 2
    assert small.epochs >= 4 and small.total_steps >= 1_000 and small.class_factor > 4
    big = plan_budget(120_000, 4, 32, "transformer")  # one epoch of AG News is already 3,750 steps
    assert big.epochs == 1 and big.evals_per_epoch == 4
    user = plan_budget(10_000, 77, 32, "transformer", epochs=2, evals_per_epoch=3)
    assert (user.epochs, user.evals_per_epoch, user.source) == (2, 3, "user")
    assert "set by the user" in user.describe() and "rule for transformer" in small.describe()
    assert budget.head_lr(5e-5) == budget.HEAD_LR_FLOOR and budget.head_lr(1e-2) == 1e-2


# ------------------------------------------------------------------------------------------------ early stopping
def test_early_stopping_restores_the_best_epoch(monkeypatch):
    """Validation F1 planted to peak at the 2nd evaluation: training stops after `patience` worse evaluations
    and the weights of the 2nd evaluation (not the last) are the ones kept."""
    planted = [0.40, 0.90, 0.60, 0.55, 0.50, 0.45, 0.40]
    seen: list[dict[str, torch.Tensor]] = []
    real_metrics, real_predict = trainer_eval.val_metrics, trainer_eval.predict_logits

    def metrics(*args, **kw):
        out = real_metrics(*args, **kw)
        return {**out, "f1_macro": planted[min(len(seen), len(planted)) - 1]}

    def predict(model, *args, **kw):
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real_predict(model, *args, **kw)

    monkeypatch.setattr(trainer_eval, "val_metrics", metrics)
    monkeypatch.setattr(trainer_eval, "predict_logits", predict)
    # a rule whose minimum (60 steps) falls inside the plan: the toy set has ~10 steps an epoch
    monkeypatch.setitem(budget.RULES, "default", budget.FamilyRule(min_steps=60, min_epochs=8, max_epochs=30))
    ds = toy_dataset(160)
    model, tok = _setup(ds)
    cfg = LoopConfig(epochs=0, evals_per_epoch=0, batch_size=16, lr=0.05, patience=2)  # auto budget
    h = train_loop(model, tok.encode, ds, cfg)
    plan = h["budget"]
    assert plan["source"] == "auto" and plan["epochs"] > 4  # the plan allowed far more epochs
    # best at eval 2; patience ran out at eval 4, but an automatic plan runs its minimum steps first and then
    # stops at the first evaluation after them
    first_after = next(i for i, e in enumerate(h["evals"]) if e["step"] >= plan["target_steps"])
    assert h["stopped_early"] and len(h["evals"]) == first_after + 1 > 4
    assert h["evals"][-1]["step"] >= plan["target_steps"] > h["evals"][-2]["step"]
    assert h["total_steps"] > h["evals"][-1]["step"]  # it did stop before the plan's end
    assert h["best_step"] == h["evals"][1]["step"] and h["best_epoch"] == h["evals"][1]["epoch"] == 2.0
    final = model.state_dict()
    assert all(torch.equal(final[k], seen[1][k]) for k in final)
    assert not torch.equal(final["head.weight"], seen[-1]["head.weight"])


# ------------------------------------------------------------------------------------------------ token budget
def _padded(lengths: list[int], width: int | None = None) -> dict[str, torch.Tensor]:
    width = width or max(lengths)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    ids = torch.randint(5, 50, (len(lengths), width)) * mask
    return {"input_ids": ids, "attention_mask": mask, "_labels": torch.arange(len(lengths)) % 3,
            "_index": torch.arange(len(lengths))}


@pytest.mark.parametrize("max_tokens", [64, 100, 512, 2048])
def test_token_pieces_never_exceed_the_budget_and_cover_every_row_once(max_tokens):
    g = torch.Generator().manual_seed(max_tokens)
    lengths = torch.randint(1, 512, (32,), generator=g).tolist()
    batch = _padded(lengths)
    pieces = token_pieces(batch, max_tokens)
    rows = torch.cat([r for r, _ in pieces]).sort().values
    assert torch.equal(rows, torch.arange(32))
    batch_width = batch["attention_mask"].shape[1]
    for r, width in pieces:
        part = take(batch, r, width)
        longest = int(part["attention_mask"].sum(1).max())
        # each piece is cut to its own longest row rounded up to WIDTH_MULTIPLE (few shapes), never past the batch
        assert part["input_ids"].shape == (len(r), width) and width == padded_width(longest, batch_width)
        assert width % WIDTH_MULTIPLE == 0 or width == batch_width
        assert len(r) * width <= max_tokens or len(r) == 1  # a single text longer than the budget runs alone
        assert torch.equal(part["_labels"], batch["_labels"][r])
    if 32 * max(lengths) > max_tokens:
        assert len(pieces) > 1
    assert token_pieces(batch, 0)[0][0].tolist() == list(range(32))  # 0 = no limit: one piece


def test_padded_width_rounds_up_within_the_cap():
    assert [padded_width(n, 128) for n in (1, 8, 9, 100, 121, 128)] == [8, 8, 16, 104, 128, 128]
    assert padded_width(61, 62) == 62 and padded_width(70, 64) == 70  # the cap bounds rounding, never truncates
    assert padded_width(10, 100, multiple=1) == 10


def _run_for(model: torch.nn.Module) -> SimpleNamespace:
    """The bits of core.trainer._Run that _update touches, without accelerate (lr 0: weights stay put)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    return SimpleNamespace(model=model, optimizer=opt, scheduler=SimpleNamespace(step=lambda: None),
                           accelerator=SimpleNamespace(backward=lambda loss: loss.backward(),
                                                       no_sync=lambda m: contextlib.nullcontext(),
                                                       clip_grad_norm_=torch.nn.utils.clip_grad_norm_))


def test_accumulated_pieces_give_the_gradient_of_one_big_batch():
    ds = toy_dataset(60)
    model, tok = _setup(ds)
    texts = ds.train.texts[:24]
    batch = dict(tok.encode(texts))
    batch["_labels"] = torch.as_tensor(ds.train.y[:24])
    batch["_index"] = torch.arange(24)
    loss_fn = torch.nn.functional.cross_entropy
    grads = []
    for max_tokens in (0, 40):
        run = _run_for(model)
        loss, _ = _update(run, lambda logits, y, i: loss_fn(logits, y), dict(batch), 0.0, False, max_tokens)
        grads.append(({n: p.grad.clone() for n, p in model.named_parameters()}, loss))
    assert len(token_pieces(batch, 40)) > 2  # the budget really split the batch
    (full, loss_full), (acc, loss_acc) = grads
    assert loss_acc == pytest.approx(loss_full, rel=1e-5)
    for name in full:
        torch.testing.assert_close(acc[name], full[name], rtol=1e-5, atol=1e-7)


def test_a_tie_on_the_metric_is_broken_by_the_validation_loss():
    """Small validation sets tie on accuracy / F1; a tie with a lower validation loss is an improvement (kept,
    patience reset), a tie with a higher loss is not."""
    best = trainer_eval._Best("f1_macro")
    model = torch.nn.Linear(2, 2)
    best.keep(model, 0.9, 10, loss=0.30)
    assert best.better(0.9, 0.25) and not best.better(0.9, 0.35) and not best.better(0.89, 0.01)
    assert best.better(0.91, 0.99)
    by_loss = trainer_eval._Best("val_loss")
    by_loss.keep(model, 0.3, 10, loss=0.3)
    assert by_loss.better(0.2) and not by_loss.better(0.3)


def test_the_best_state_is_one_copy_overwritten_in_place_and_restored():
    """A later improvement overwrites the kept tensors (no second copy, no new allocations); restore brings
    back the latest kept weights; frozen parameters are never copied."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    best = trainer_eval._Best("f1_macro")
    best.keep(model, 0.5, 1)
    assert "0.weight" not in best.state
    kept = {k: v.data_ptr() for k, v in best.state.items()}
    with torch.no_grad():
        model[1].weight.add_(1.0)
    best.keep(model, 0.6, 2)
    assert {k: v.data_ptr() for k, v in best.state.items()} == kept  # the same storage, new values
    wanted = model[1].weight.detach().clone()
    with torch.no_grad():
        model[1].weight.zero_()
    best.restore(model)
    assert torch.equal(model[1].weight, wanted) and best.step == 2
