"""DP-SGD for the neural generator: per-row clipping, Gaussian noise, and its Rényi-DP account.

Each step draws a Poisson sample of the rows (each row independently with probability ``q``),
clips every row's gradient to L2 norm ``clip``, sums, adds N(0, (sigma * clip)^2) to every
coordinate and divides by the expected batch size (Abadi et al. 2016, "Deep Learning with
Differential Privacy"). The privacy loss is tracked with the Rényi DP of the sampled Gaussian
mechanism for integer orders (Mironov, Talwar & Zhang 2019, section 3.3) under the add/remove-one-row
relation, composed over the steps and converted to (epsilon, delta) with Balle et al. 2020
(Theorem 21, the conversion Opacus and TF-Privacy use).

>>> round(float(epsilon_for(sigma=1.0, q=0.01, steps=1000, delta=1e-5)), 2)
2.11
>>> s = sigma_for(epsilon=1.0, q=0.01, steps=1000, delta=1e-5)
>>> epsilon_for(sigma=s, q=0.01, steps=1000, delta=1e-5) <= 1.0
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = ["epsilon_for", "sigma_for", "dp_train"]

ORDERS = np.array(list(range(2, 64)) + [80, 96, 128, 160, 192, 256, 384, 512], dtype="float64")


def _rdp_step(q: float, sigma: float, alpha: int) -> float:
    """RDP of order ``alpha`` of one step of the Poisson-sampled Gaussian mechanism."""
    if q == 0:
        return 0.0
    if q >= 1.0:
        return alpha / (2 * sigma**2)
    k = np.arange(alpha + 1, dtype="float64")
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    terms = log_binom + (alpha - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2 * sigma**2)
    return float(logsumexp(terms)) / (alpha - 1)


def epsilon_for(*, sigma: float, q: float, steps: int, delta: float) -> float:
    """(epsilon, delta)-DP spent by ``steps`` steps with noise multiplier ``sigma`` and sampling rate ``q``."""
    best = math.inf
    for a in ORDERS:
        rdp = steps * _rdp_step(q, sigma, int(a))
        eps = rdp + math.log1p(-1 / a) - (math.log(delta) + math.log(a)) / (a - 1)
        best = min(best, eps)
    return float(max(best, 0.0))


def sigma_for(*, epsilon: float, q: float, steps: int, delta: float, low: float = 0.2, high: float = 500.0) -> float:
    """The smallest noise multiplier (to 0.1%) whose account stays within ``epsilon``; inf if none up to ``high``."""
    if epsilon_for(sigma=high, q=q, steps=steps, delta=delta) > epsilon:
        return math.inf
    if epsilon_for(sigma=low, q=q, steps=steps, delta=delta) <= epsilon:
        return low
    while high / low > 1.001:
        mid = math.sqrt(low * high)
        if epsilon_for(sigma=mid, q=q, steps=steps, delta=delta) <= epsilon:
            high = mid
        else:
            low = mid
    return high


def dp_train(net, tokens: np.ndarray, groups: np.ndarray, *, epochs: int, q: float, sigma: float, clip: float,
             lr: float, flexible: float, gen, progress, micro: int = 64) -> dict:
    """Run DP-SGD (Adam on the privatised gradient) for ``epochs * round(1/q)`` steps."""
    import torch
    from torch.func import functional_call, grad, vmap

    from ._nn_model import order_masks

    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v for k, v in net.named_buffers()}

    def row_loss(p, tok, before):
        return functional_call(net, (p, buffers), (tok[None], before[None]))

    per_row = vmap(grad(row_loss), in_dims=(None, 0, 0), randomness="different")
    data = torch.from_numpy(tokens)
    g = torch.from_numpy(groups)
    n = len(data)
    steps = epochs * max(1, round(1 / q))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    expected = q * n
    history = []
    for step in range(steps):
        take = torch.nonzero(torch.rand(n, generator=gen) < q).flatten()
        summed = {k: torch.zeros_like(v) for k, v in params.items()}
        total_loss = 0.0
        params = {k: v.detach() for k, v in net.named_parameters()}
        for s in range(0, len(take), micro):
            batch = data[take[s:s + micro]]
            masks = order_masks(g, len(batch), flexible, gen)
            grads = per_row(params, batch, masks)
            norms = torch.sqrt(sum((gr.reshape(len(batch), -1) ** 2).sum(1) for gr in grads.values()))
            factor = torch.clamp(clip / (norms + 1e-6), max=1.0)
            for k, gr in grads.items():
                summed[k] += torch.einsum("b,b...->...", factor, gr)
            with torch.no_grad():
                total_loss += float(net.loss(batch, masks)) * len(batch)
        opt.zero_grad(set_to_none=True)
        for k, p in net.named_parameters():
            noise = torch.normal(0.0, sigma * clip, size=p.shape, generator=gen)
            p.grad = (summed[k] + noise) / expected
        opt.step()
        history.append(total_loss / max(len(take), 1))
        if progress and (step + 1) % max(1, steps // 100) == 0:
            progress(f"fit (DP-SGD) · loss {np.mean(history[-20:]):.3f}", step + 1, steps)
    # the training loss is shown on the progress bar only: it is computed on the private rows, so it is not kept
    return {"steps": steps, "epochs": epochs}
