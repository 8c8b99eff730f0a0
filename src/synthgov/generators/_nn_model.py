"""The autoregressive network of :class:`~synthgov.generators.neural.NeuralSynthesizer` (torch).

Sub-column ``k`` is predicted from the sum of the embeddings of the sub-columns that come
before it in a row's order, plus a learned query for ``k``, by its own small residual MLP
head; cross-entropy over all sub-columns is the loss. Absent sub-columns contribute nothing,
so the same network can serve any order: with ``flexible > 0`` training mixes the natural
column order with orders that put a random subset of columns first.

Only this module and :mod:`._nn_dp` import torch; they are imported when a
NeuralSynthesizer fits or samples, never at ``import synthgov``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARNet", "torch_session", "order_masks", "train", "weights_to_arrays", "weights_from_arrays"]


class ARNet(nn.Module):
    """Per-sub-column heads over summed embeddings of the sub-columns before it."""

    def __init__(self, cards: list[int], hidden: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        self.cards = list(cards)
        c, h = len(cards), hidden
        self.register_buffer("offsets", torch.tensor(np.concatenate([[0], np.cumsum(cards)[:-1]]), dtype=torch.long))
        self.emb = nn.Parameter(torch.randn(sum(cards), h) * 0.1)
        self.query = nn.Parameter(torch.randn(c, h) * 0.1)
        self.w1 = nn.Parameter(torch.randn(c, h, h) / math.sqrt(h))
        self.b1 = nn.Parameter(torch.zeros(c, h))
        self.w2 = nn.Parameter(torch.randn(c, h, h) / math.sqrt(h) * 0.5)
        self.b2 = nn.Parameter(torch.zeros(c, h))
        # one output layer per sub-column, sized to its tokens (a 3,000-level column costs only itself)
        self.wo = nn.ParameterList([nn.Parameter(torch.randn(h, card) / math.sqrt(h)) for card in cards])
        self.bo = nn.ParameterList([nn.Parameter(torch.zeros(card)) for card in cards])

    def _hidden(self, ctx: torch.Tensor, k: slice) -> torch.Tensor:
        """ctx (B, C', h) for the heads ``k`` -> their last hidden layer (B, C', h)."""
        z = F.layer_norm(ctx, ctx.shape[-1:])
        h1 = F.dropout(F.gelu(torch.einsum("bkh,khg->bkg", z, self.w1[k]) + self.b1[k]), self.dropout, self.training)
        return F.dropout(F.gelu(torch.einsum("bkh,khg->bkg", h1, self.w2[k]) + self.b2[k]), self.dropout, self.training) + h1

    def forward(self, tokens: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
        """Cross-entropy summed over sub-columns, averaged over rows.

        tokens (B, C) and before (B, C, C) with before[b, k, j] = 1 if j precedes k.
        """
        e = self.emb[tokens + self.offsets]
        hidden = self._hidden(torch.bmm(before, e) + self.query, slice(None))
        total = 0.0
        for k in range(len(self.cards)):
            logits = hidden[:, k] @ self.wo[k] + self.bo[k]
            total = total + F.cross_entropy(logits, tokens[:, k], reduction="sum")
        return total / tokens.shape[0]

    def loss(self, tokens: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
        return self(tokens, before)

    @torch.no_grad()
    def head_probs(self, k: int, running: torch.Tensor) -> np.ndarray:
        """Probabilities (float64) of sub-column ``k``'s tokens given the running embedding sum."""
        hidden = self._hidden((running + self.query[k])[:, None, :], slice(k, k + 1))[:, 0]
        logits = hidden @ self.wo[k] + self.bo[k]
        return torch.softmax(logits.double(), dim=-1).numpy()

    @torch.no_grad()
    def embed(self, k: int, tokens: np.ndarray) -> torch.Tensor:
        return self.emb[torch.from_numpy(tokens) + self.offsets[k]]


@contextlib.contextmanager
def torch_session(seed: int, threads: int):
    """Fixed threads, deterministic kernels and a private RNG stream; global state restored on exit."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def order_masks(groups: torch.Tensor, n_rows: int, flexible: float, gen: torch.Generator) -> torch.Tensor:
    """``before`` masks (B, C, C) for a batch.

    ``groups`` (C,) maps each sub-column to its source column (coarse and fine bins of one number
    stay together and in order). A share ``flexible`` of rows moves a random subset of source
    columns to the front (keeping the natural order inside each part); the rest use the natural order.
    """
    c = groups.shape[0]
    n_src = int(groups.max()) + 1
    natural = torch.arange(c, dtype=torch.float32)
    flex = torch.rand(n_rows, 1, generator=gen) < flexible
    keep = torch.rand(n_rows, 1, generator=gen)
    front = (torch.rand(n_rows, n_src, generator=gen) < keep) & flex
    pos = natural + c * (~front[:, groups]).float()
    return (pos[:, None, :] < pos[:, :, None]).float()


def natural_mask(c: int) -> torch.Tensor:
    return torch.tril(torch.ones(c, c), diagonal=-1)


def train(net: ARNet, tokens: np.ndarray, groups: np.ndarray, *, epochs: int, batch_size: int, lr: float,
          flexible: float, patience: int, val_share: float, gen: torch.Generator,
          progress: Callable[[str, int, int], None] | None) -> dict:
    """Adam (learning rate halved on plateaus), early stopping on a validation split in natural order; keeps the best weights."""
    n = len(tokens)
    perm = torch.randperm(n, generator=gen).numpy()
    n_val = int(round(n * val_share)) if n >= 50 and val_share > 0 else 0
    val, fit = torch.from_numpy(tokens[perm[:n_val]]), torch.from_numpy(tokens[perm[n_val:]])
    g = torch.from_numpy(groups)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, patience // 3))
    nat = natural_mask(len(groups))
    best, best_state, stale, history = math.inf, None, 0, []
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(fit), generator=gen)
        total = 0.0
        for start in range(0, len(fit), batch_size):
            batch = fit[order[start:start + batch_size]]
            loss = net.loss(batch, order_masks(g, len(batch), flexible, gen))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        train_loss = total / len(fit)
        net.eval()
        with torch.no_grad():
            val_loss = float(sum(net.loss(val[s:s + 4096], nat.expand(len(val[s:s + 4096]), -1, -1)) * len(val[s:s + 4096])
                                 for s in range(0, n_val, 4096)) / n_val) if n_val else train_loss
        history.append({"epoch": epoch + 1, "train_loss": round(train_loss, 5), "val_loss": round(val_loss, 5)})
        if progress:
            progress(f"fit · loss {val_loss:.3f}", epoch + 1, epochs)
        sched.step(val_loss)
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    return {"epochs": len(history), "best_val_loss": round(best, 5), "history": history, "validation_rows": n_val}


def weights_to_arrays(net: ARNet) -> dict[str, np.ndarray]:
    return {f"w_{k}": v.detach().numpy().copy() for k, v in net.named_parameters()}


def weights_from_arrays(net: ARNet, arrays: dict[str, np.ndarray]) -> None:
    with torch.no_grad():
        for k, p in net.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(arrays[f"w_{k}"], dtype="float32")))
