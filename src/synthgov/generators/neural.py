"""Neural synthesizer: an autoregressive network over discretised columns (torch, ``[neural]`` extra).

Why this model. Tabular deep generators of the GAN/VAE family (CTGAN, TVAE) reach SDMetrics
quality around 0.87-0.89 on CPS1988 here; autoregressive models over discretised columns
(TabularARGN, Tiwald et al. 2025, mostlyai-engine) reach 0.96, because every column is a
categorical distribution learned by cross-entropy: no mode collapse, no Gaussian decoder
smearing multi-modal numbers, exact heaps and missing values, and conditions are simple
(fix the conditioned tokens first). We take that design and keep it small for a CPU:

* every column becomes tokens (:mod:`._nn_encode`): levels for categories, exact values for
  numbers with few distinct values, and a coarse + fine pair of equal-count bins for the other
  numbers (values drawn uniformly inside the fine bin's training range); missing is a token;
* sub-column ``k`` is predicted from the summed embeddings of the sub-columns before it by its
  own residual MLP head (:mod:`._nn_model`);
* conditions in :meth:`sample` (equality, ranges, missing, one row of values per output row as
  :func:`~synthgov.partial` uses) are met exactly by sequential importance resampling
  (:mod:`._nn_cond`): ``particles`` candidates per row are drawn with every conditioned token
  restricted to the allowed ones, weighted by the model's probability of those restrictions,
  and one is kept by weight, so the other columns follow the model's conditional distribution
  even when the conditioned column comes last in the order (optionally, ``flexible`` also trains
  orders that put a random subset of columns first and then draws conditioned columns first);
* Adam, learning rate halved on plateaus, early stopping on a validation split (natural order),
  best weights kept; the progress callback's stage text carries the validation loss;
* reproducible on CPU for a seed: private torch RNG stream, deterministic kernels, a fixed
  number of threads (``threads``); tokens are drawn with numpy from float64 probabilities.

Privacy. Without ``epsilon`` there is **no formal privacy guarantee** (``privacy_`` is None): bin
ranges hold training values and a network can memorise rows. With ``epsilon`` the network is
trained with DP-SGD (:mod:`._nn_dp`: Poisson sampling, per-row clipping, Gaussian noise, Rényi-DP
accountant) and ``privacy_`` reports (epsilon, delta) under add/remove-one-row. Then the bins and
levels come only from the schema passed to ``fit``, which is treated as **public**: its bounds
and category lists must be declared, not read off the private rows (no early stopping either:
a validation loss would be read off the private rows). The noise is torch's float32 Gaussian
sampler, which is not hardened against floating-point attacks.

>>> import synthgov as sg
>>> df = sg.datasets.load_cps1988().sample(1500, random_state=0)
>>> syn = sg.NeuralSynthesizer(epochs=3, random_state=0).fit(df)
>>> out = syn.sample(200, conditions={"region": "south"})
>>> len(out), bool((out["region"] == "south").all())
(200, True)
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ..errors import DependencyError, InputError, ModelFileError, ParameterError, PrivacyBudgetError
from ..table.constraints import Constraint, constraint_from_dict
from ..table.schema import Kind, TableSchema
from ._codec import TableCodec
from ._nn_cond import Conditions
from ._nn_encode import CategoricalTokens, NumericTokens, tokens_from_state
from .base import PrivacyAccount, ProgressCallback, Synthesizer, check_random_state

__all__ = ["NeuralSynthesizer"]

CHUNK = 20_000
#: Version of the saved state; a model saved by a newer synthgov is refused.
NEURAL_FORMAT = 1
#: DP-SGD is refused when the noise on the averaged gradient would exceed this share of the clipping norm.
MAX_NOISE_PER_ROW = 0.25


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise DependencyError(
            f"NeuralSynthesizer needs torch, which cannot be imported ({exc})",
            hint="pip install 'synthgov[neural]'",
        ) from None
    return torch


def _int(name: str, value, low: int, high: int | None = None, *, none: bool = False):
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        rng = f"{low}..{high}" if high is not None else f">= {low}"
        raise ParameterError(f"{name} must be an integer in {rng}{' or None' if none else ''}, got {value!r}")
    return int(value)


def _float(name: str, value, low: float, high: float, *, none: bool = False, open_low: bool = False):
    if value is None and none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise ParameterError(f"{name} must be a number in {bracket}{low}, {high}]{' or None' if none else ''}, got {value!r}")
    return float(value)


class NeuralSynthesizer(Synthesizer):
    """Autoregressive neural generator over discretised columns (see module docs).

    Args:
        random_state: seed; the same seed (and ``threads``) gives identical output, fit included.
        constraints: constraint objects (or their dict form), added to those in the schema.
        epochs: most training epochs (default 100; with ``epsilon``: exactly 10 DP-SGD epochs).
        batch_size: rows per step (default: about n/40, within 32..1024; with ``epsilon``: the
            expected Poisson batch, default 256).
        hidden: width of the embeddings and heads.
        dropout: dropout rate inside the heads (a regulariser; ignored at sampling).
        learning_rate: Adam's step size.
        patience: stop after this many epochs without a better validation loss.
        validation_share: share of rows held out for early stopping (not used with ``epsilon``).
        flexible: share of training rows seen with a random subset of columns first; above 0,
            conditioned columns are also drawn first at sampling time. 0 (default): natural order only.
        particles: candidate rows drawn per output row under conditions; one is kept by its
            importance weight (more: closer to the model's exact conditional distribution).
        max_levels: numbers with at most this many distinct values get one token per value.
        bins: equal-count bins for other numbers (split in coarse x fine; at most one per 20 rows).
        threads: torch CPU threads (default 1: the network's small matrix products gain little from more,
            and lose much on a busy machine); part of what makes a run reproducible.
        epsilon: train with DP-SGD to (epsilon, delta)-differential privacy; None: no DP.
        delta: the DP delta (choose it well below 1/rows).
        clip: DP-SGD per-row gradient norm bound.
    """

    name = "neural"

    def __init__(self, *, random_state: int | None = None, constraints=(), epochs: int | None = None,
                 batch_size: int | None = None, hidden: int = 128, dropout: float = 0.1, learning_rate: float = 3e-3, patience: int = 4,
                 validation_share: float = 0.1, flexible: float = 0.0, particles: int = 16, max_levels: int = 64, bins: int = 1024,
                 threads: int | None = None, epsilon: float | None = None, delta: float = 1e-6, clip: float = 1.0):
        self.random_state = check_random_state(random_state)
        if isinstance(constraints, (Constraint, dict)):
            constraints = [constraints]
        self.constraints = tuple(c if isinstance(c, Constraint) else constraint_from_dict(c) for c in constraints)
        self.epochs = _int("epochs", epochs, 1, 10_000, none=True)
        self.batch_size = _int("batch_size", batch_size, 1, 1_000_000, none=True)
        self.hidden = _int("hidden", hidden, 4, 4096)
        self.dropout = _float("dropout", dropout, 0.0, 0.9)
        self.learning_rate = _float("learning_rate", learning_rate, 0.0, 1.0, open_low=True)
        self.patience = _int("patience", patience, 1, 10_000)
        self.validation_share = _float("validation_share", validation_share, 0.0, 0.5)
        self.flexible = _float("flexible", flexible, 0.0, 1.0)
        self.particles = _int("particles", particles, 1, 10_000)
        self.max_levels = _int("max_levels", max_levels, 1, 100_000)
        self.bins = _int("bins", bins, 4, 1_000_000)
        self.threads = _int("threads", threads, 1, 1024, none=True)
        if epsilon is not None and (isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating, np.integer))
                                    or not math.isfinite(epsilon) or epsilon <= 0):
            raise ParameterError(f"epsilon must be a positive finite number or None, got {epsilon!r}",
                                 hint="for example epsilon=1.0; leave it out for no differential privacy")
        self.epsilon = float(epsilon) if epsilon is not None else None
        self.delta = _float("delta", delta, 0.0, 0.1, open_low=True)
        self.clip = _float("clip", clip, 0.0, 1e6, open_low=True)
        _torch()  # asking for this generator without torch: say which extra to install
        self.schema_: TableSchema | None = None

    # -- fit -----------------------------------------------------------------------
    def _n_threads(self) -> int:
        return self.threads or 1

    def fit(self, data, *, schema=None, progress: ProgressCallback | None = None) -> NeuralSynthesizer:
        torch = _torch()
        from ._nn_model import ARNet, torch_session, train

        df = self._training_frame(data)
        dp = self.epsilon is not None
        if dp and schema is None:
            raise ParameterError(
                "with epsilon, fit needs a schema declared as public (its bounds and category lists are not private)",
                hint="sg.infer_schema(...) on public or made-up data, or write the schema by hand; pass schema=",
            )
        if schema is None:
            schema = TableSchema.infer(df)
        elif not isinstance(schema, TableSchema):
            schema = TableSchema.load(schema)
        if dp:
            self._check_public(schema)
        codec, model = TableCodec.fit(df, schema, self.constraints)
        rng = np.random.default_rng(self.random_state)
        tokenizers, columns, groups = [], [], []
        for i, mc in enumerate(codec.model_columns):
            if dp and mc.source is None:
                raise ParameterError(f"with epsilon, constraint-derived column {mc.name!r} would be bounded by the private data",
                                     hint="drop inequality constraints when fitting with epsilon")
            can_miss = bool(mc.source and codec.schema[mc.source].missing_rate > 0)  # DP: from the public schema
            if mc.kind == "numeric":
                x = model[mc.name].to_numpy(dtype="float64")
                private = bool(mc.source and codec.schema[mc.source].pii)
                tok = NumericTokens.fit(mc.name, x, step=mc.step, rng=rng, max_levels=self.max_levels, bins=self.bins,
                                        private=private, public_bounds=(mc.lo, mc.hi) if dp else None,
                                        public_missing=can_miss)
            else:
                x = model[mc.name].to_numpy(dtype=object)
                tok = CategoricalTokens.fit(mc.name, x, levels=list(mc.levels) if mc.levels else None, public=dp,
                                            public_missing=can_miss)
            parts = tok.encode(x, rng)
            if any((p < 0).any() for p in parts):
                raise InputError(f"column {mc.source or mc.name!r} holds values outside the schema's declared domain",
                                 hint="declare every category (and missing values) in the schema passed to fit")
            tokenizers.append(tok)
            columns.extend(parts)
            groups.extend([i] * len(parts))
        tokens = np.column_stack(columns).astype(np.int64)
        cards = [c for tok in tokenizers for c in tok.cards]
        seed = int(rng.integers(0, 2**31 - 1))
        n = len(df)
        with torch_session(seed, self._n_threads()):
            gen = torch.Generator().manual_seed(seed)
            net = ARNet(cards, self.hidden, self.dropout)
            if dp:
                summary, privacy = self._fit_dp(net, tokens, np.asarray(groups), n, gen, progress)
            else:
                batch = self.batch_size or int(min(1024, max(32, 2 ** round(math.log2(max(n / 40, 1))))))
                summary = train(net, tokens, np.asarray(groups), epochs=self.epochs or 100, batch_size=batch,
                                lr=self.learning_rate, flexible=self.flexible, patience=self.patience,
                                val_share=self.validation_share, gen=gen, progress=progress)
                summary["batch_size"] = batch
                privacy = None
        net.eval()
        self.codec_ = codec
        self.tokenizers_ = tokenizers
        self.groups_ = np.asarray(groups, dtype=np.int64)
        self.net_ = net
        self.training_ = summary
        self.schema_ = codec.schema
        self.n_rows_ = n
        self.privacy_ = privacy
        self._rng = np.random.default_rng(rng.integers(0, 2**63))
        return self

    @staticmethod
    def _check_public(schema: TableSchema) -> None:
        undeclared = [c.name for c in schema.columns if c.modelled and (
            (c.kind in (Kind.NUMERIC, Kind.DATETIME) and (c.minimum is None or c.maximum is None))
            or (c.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and not c.categories))]
        if undeclared:
            raise ParameterError(
                f"with epsilon, the schema must declare bounds and categories; missing for: {', '.join(undeclared)}",
                hint="set minimum/maximum and categories in the schema passed to fit (they are treated as public)",
            )

    def _fit_dp(self, net, tokens, groups, n, gen, progress):
        from ._nn_dp import dp_train, epsilon_for, sigma_for

        epochs = self.epochs or 10
        batch = min(self.batch_size or 256, n)
        q = batch / n
        steps = epochs * max(1, round(1 / q))
        sigma = sigma_for(epsilon=self.epsilon, q=q, steps=steps, delta=self.delta)
        limit = min(500.0, MAX_NOISE_PER_ROW * batch)
        if sigma > limit:
            needed = epsilon_for(sigma=limit, q=q, steps=steps, delta=self.delta)
            raise PrivacyBudgetError(
                f"epsilon={self.epsilon:g} is too small to learn anything from {n} rows in {steps} DP-SGD steps: the noise "
                f"would swamp the gradient (noise multiplier {sigma:.3g} for an expected batch of {batch:g} rows)",
                hint=f"use epsilon >= {needed:.3g}, or fewer epochs, or more rows",
                details={"code": "budget-too-small", "needed_epsilon": needed},
            )
        summary = dp_train(net, tokens, groups, epochs=epochs, q=q, sigma=sigma, clip=self.clip, lr=self.learning_rate,
                           flexible=self.flexible, gen=gen, progress=progress)
        spent = epsilon_for(sigma=sigma, q=q, steps=steps, delta=self.delta)
        summary.update({"sampling_rate": q, "noise_multiplier": sigma, "clip": self.clip})
        account = PrivacyAccount(
            epsilon=spent, delta=self.delta, mechanism="DP-SGD", neighbouring="add/remove one row",
            steps=(
                {"step": "domain", "epsilon": 0.0, "source": "the schema passed to fit, treated as public"},
                {"step": "DP-SGD", "epsilon": spent, "delta": self.delta, "steps": steps, "epochs": epochs,
                 "sampling": "Poisson", "sampling_rate": q, "noise_multiplier": sigma, "clip": self.clip,
                 "accountant": "Renyi DP of the sampled Gaussian (integer orders), Balle et al. 2020 conversion"},
            ),
        )
        return summary, account

    # -- sample ------------------------------------------------------------------------
    def sample(self, n: int | None = None, *, conditions=None, random_state: int | None = None,
               progress: ProgressCallback | None = None) -> pd.DataFrame:
        """Draw ``n`` rows; ``conditions`` as in :meth:`CopulaSynthesizer.sample` (equality, ranges, None, per row)."""
        self._check_fitted()
        torch = _torch()
        n, rng = self._sample_setup(n, conditions, random_state)
        cond = Conditions.build(self, conditions, n)
        order = list(range(len(self.groups_)))
        if self.flexible > 0:  # conditioned columns first: the heads were trained for such orders
            order = [k for k in order if self.groups_[k] in cond.sources] + \
                [k for k in order if self.groups_[k] not in cond.sources]
        per_row = isinstance(conditions, pd.DataFrame)
        particles = self.particles if cond.sources else 1
        tokens = np.empty((n, len(self.groups_)), dtype=np.int64)
        old = torch.get_num_threads()
        torch.set_num_threads(self._n_threads())
        try:
            step = max(1, CHUNK // particles)
            for start in range(0, n, step):
                stop = min(n, start + step)
                rows = np.repeat(np.arange(start, stop), particles)
                drawn, logw = self._draw_rows(order, cond, rows, rng)
                if particles == 1:
                    tokens[start:stop] = drawn
                elif per_row:  # one particle per row, chosen by its weight
                    w = np.exp(logw.reshape(-1, particles) - logw.reshape(-1, particles).max(axis=1, keepdims=True))
                    pick = _draw(w, None, rng)
                    tokens[start:stop] = drawn.reshape(stop - start, particles, -1)[np.arange(stop - start), pick]
                else:  # one condition for all rows: resample the pool
                    w = np.exp(logw - logw.max())
                    tokens[start:stop] = drawn[rng.choice(len(w), size=stop - start, p=w / w.sum())]
                if progress:
                    progress("sample", stop, n)
        finally:
            torch.set_num_threads(old)
        model: dict[str, np.ndarray] = {}
        missing: dict[str, np.ndarray] = {}
        k = 0
        for tok in self.tokenizers_:
            width = len(tok.cards)
            model[tok.name], missing[tok.name] = tok.decode([tokens[:, k + i] for i in range(width)], rng)
            k += width
        for name, (lo, hi) in cond.clips.items():
            model[name] = np.clip(model[name], lo, hi)
        for name, x in cond.forced.items():
            model[name] = np.where(np.isnan(x), model[name], x)
        return self.codec_.decode(model, n, rng, missing={k: v for k, v in missing.items() if model[k].dtype == object})

    def _draw_rows(self, order, cond, rows: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """Tokens for particle rows (``rows``: the output row each stands for) and their log importance weights.

        Each conditioned sub-column is drawn from the model restricted to the allowed tokens and the
        particle's weight is multiplied by the model's probability of that restriction (sequential
        importance sampling: resampling by weight gives the model's conditional distribution).
        """
        torch = _torch()
        m = len(rows)
        tokens = np.zeros((m, len(self.groups_)), dtype=np.int64)
        logw = np.zeros(m)
        running = torch.zeros(m, self.hidden)
        for k in order:
            mask = cond.masks.get(k)
            if mask is not None and len(mask) > 1:
                mask = mask[rows]
            if k in self._fine_of:
                fine = self._fine_mask(k, tokens, cond, rows)
                mask = fine if mask is None else mask * fine
            p = self.net_.head_probs(k, running)
            if mask is not None:
                logw += np.log(np.maximum((p * mask).sum(axis=1), 1e-300))
            tokens[:, k] = _draw(p, mask, rng)
            running += self.net_.embed(k, tokens[:, k])
        return tokens, logw

    @property
    def _fine_of(self) -> dict:
        """fine sub-column -> (its coarse sub-column, tokenizer)."""
        out, k = {}, 0
        for tok in self.tokenizers_:
            if isinstance(tok, NumericTokens):
                out[k + 1] = (k, tok)
            k += len(tok.cards)
        return out

    def _fine_mask(self, k, tokens, cond, rows) -> np.ndarray:
        """Fine bins allowed given each particle's coarse bin (and range/equality conditions on the number)."""
        ck, tok = self._fine_of[k]
        coarse = tokens[:, ck]
        miss = coarse >= tok.n_coarse
        width = tok.n_fine + int(tok.missing)
        full = cond.fine.get(k)
        if full is None:
            mask = np.ones((len(coarse), width))
        else:
            full = full[rows] if len(full) > 1 else np.broadcast_to(full, (len(coarse), full.shape[1]))
            idx = np.minimum(coarse, tok.n_coarse - 1)[:, None] * tok.n_fine + np.arange(tok.n_fine)
            mask = np.zeros((len(coarse), width))
            mask[:, : tok.n_fine] = np.take_along_axis(full, idx, axis=1)
        if tok.missing:
            mask[:, tok.n_fine] = 0.0
            mask[miss] = 0.0
            mask[miss, tok.n_fine] = 1.0
        return mask

    # -- persistence -------------------------------------------------------------------
    def _state(self):
        from ._nn_model import weights_to_arrays

        arrays = {k: v for k, v in weights_to_arrays(self.net_).items()}
        toks = []
        for i, tok in enumerate(self.tokenizers_):
            meta, arr = tok.state()
            toks.append(meta)
            arrays.update({f"t{i}_{k}": v for k, v in arr.items()})
        arrays["groups"] = self.groups_
        state = {
            "neural_format": NEURAL_FORMAT,
            "codec": self.codec_.state(),
            "tokenizers": toks,
            "cards": list(self.net_.cards),
            "n_rows": self.n_rows_,
            "training": self.training_,
            "privacy": self.privacy_.to_dict() if self.privacy_ is not None else None,
            "rng": self._rng.bit_generator.state,
        }
        return json.loads(json.dumps(state, default=_json_default)), arrays

    @classmethod
    def _from_state(cls, params, meta, arrays):
        fmt = meta.get("neural_format")
        if not isinstance(fmt, int) or fmt > NEURAL_FORMAT:
            raise ModelFileError(f"the neural model was saved in format {fmt!r}, newer than this synthgov reads ({NEURAL_FORMAT})",
                                 hint="upgrade synthgov, or fit the model again with this version")
        from ._nn_model import ARNet, weights_from_arrays

        obj = cls(**params)
        obj.codec_ = TableCodec.from_state(meta["codec"])
        obj.tokenizers_ = []
        for i, t in enumerate(meta["tokenizers"]):
            prefix = f"t{i}_"
            obj.tokenizers_.append(tokens_from_state(t, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}))
        obj.groups_ = np.asarray(arrays["groups"], dtype=np.int64)
        obj.net_ = ARNet(meta["cards"], obj.hidden, obj.dropout)
        weights_from_arrays(obj.net_, arrays)
        obj.net_.eval()
        obj.training_ = meta["training"]
        obj.schema_ = obj.codec_.schema
        obj.n_rows_ = meta["n_rows"]
        p = meta.get("privacy")
        obj.privacy_ = PrivacyAccount(**{**p, "steps": tuple(p["steps"])}) if p else None
        obj._rng = np.random.default_rng()
        obj._rng.bit_generator.state = meta["rng"]
        return obj


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _draw(p: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """One token per row from probabilities ``p`` restricted to ``mask`` (no mass left: uniform over the allowed)."""
    if mask is not None:
        p = p * mask
        dead = p.sum(axis=1) <= 0
        if dead.any():
            p[dead] = np.broadcast_to(mask, p.shape)[dead]
    total = p.sum(axis=1, keepdims=True)
    cum = np.cumsum(p, axis=1)
    u = rng.random((len(p), 1)) * total
    idx = (cum <= u).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1).astype(np.int64)

