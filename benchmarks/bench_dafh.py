"""Benchmark of fairfast.dafh: one DAFH training epoch on Adult against PyTorch.

Run (about a minute on 2 cores)::

    python -m pytest benchmarks/bench_dafh.py -o python_files='bench_*.py' --benchmark-only

Group ``dafh-epoch-adult-K2-b256``
    One epoch of DAFH training on the 48,842 Adult rows (sensitive columns dropped,
    one-hot categoricals, standardised numeric columns: 98 features), K = 2 groups,
    mini-batches of 256, the default group classifier (one hidden ReLU layer of 64)
    and default step sizes: forward pass, objective, gradients and Adam ascent for
    every mini-batch.

    ``fairfast``: :func:`fairfast.dafh._kernels.train_epoch`, the whole epoch in one
    compiled Numba call (the per-batch objective and gradient kernel plus Adam).
    ``torch``: the same objective written in PyTorch (``torch.softmax``,
    ``torch.sigmoid``, autograd, ``torch.optim.Adam(maximize=True)`` with the same
    separate step sizes and the same L2 term), the idiomatic CPU implementation a user
    would write, with the same row order. PyTorch is a benchmark-only extra
    (``pip install torch==2.13.0``); without it the torch cases are skipped.

Both run on **one thread**: ``torch.set_num_threads(1)`` and the serial Numba kernel
inside ``fairfast.thread_limit(1)``; the thread counts are recorded in ``extra_info``.
Both dtypes are measured (float32 is PyTorch's usual choice).

Before timing, the two implementations are checked against each other in float64:
the objective and gradients of one mini-batch (relative difference < 1e-9), and the
parameters after one full epoch from the same start (relative difference < 1e-6).
The ratios ``torch / fairfast`` of the medians and of the minima over 7 rounds are
printed at the end of the module; speed is never asserted. On a shared machine the
minimum is the steadier figure.
"""

import time

import numpy as np
import pytest

import fairfast
from fairfast.datasets import load_adult

K = 2
BATCH = 256
HIDDEN = 64
LR_GROUP = 1e-3
LR_MODEL = 1e-2
ALPHA = 1e-4
GROUP = "dafh-epoch-adult-K2-b256"
THREADS = 1

_MEDIANS = {}


@pytest.fixture(scope="module")
def adult():
    """Features, labels, initial parameters and a row order, as in DAFHClassifier.fit."""
    import pandas as pd

    from fairfast.dafh import _kernels
    from fairfast.dafh._common import fit_logistic, standardizer

    bunch = load_adult(drop_sensitive=True)
    X = pd.get_dummies(bunch.data, dtype=float).to_numpy(dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.float64)
    mean, scale = standardizer(X)
    Z = np.ascontiguousarray((X - mean) / scale)
    d = Z.shape[1]
    rng = np.random.default_rng(0)
    sizes = np.array([d, HIDDEN, K], dtype=np.int64)
    theta = np.zeros(_kernels.theta_size(sizes))
    theta[: d * HIDDEN] = rng.normal(0, np.sqrt(2.0 / d), d * HIDDEN)
    off = d * HIDDEN + HIDDEN
    theta[off : off + HIDDEN * K] = rng.normal(0, np.sqrt(1.0 / HIDDEN), HIDDEN * K)
    w0, b0 = fit_logistic(Z, y.astype(np.int64), 1.0)
    beta = np.empty((K, d + 1))
    beta[:, :d] = w0
    beta[:, d] = b0
    beta += rng.normal(0, 0.01, beta.shape)
    perm = rng.permutation(Z.shape[0]).astype(np.int64)
    return {"X": Z, "y": y, "theta": theta, "beta": beta, "sizes": sizes, "perm": perm}


def _fairfast_epoch(data, dtype):
    from fairfast.dafh import _kernels

    X = data["X"].astype(dtype)
    y = data["y"].astype(dtype)
    log_prior = np.log(np.full(K, 1.0 / K))

    def setup():
        theta = data["theta"].astype(dtype)
        beta = data["beta"].astype(dtype)
        state = {"m_theta": np.zeros_like(theta), "v_theta": np.zeros_like(theta),
                 "m_beta": np.zeros_like(beta), "v_beta": np.zeros_like(beta), "step": 0}
        return (theta, beta, state), {}

    def epoch(theta, beta, state):
        with fairfast.thread_limit(THREADS):
            _kernels.train_epoch(X, y, data["perm"], BATCH, theta, beta, data["sizes"], 1.0, 1.0, 1.0, log_prior,
                                 ALPHA, LR_GROUP, LR_MODEL, state)
        return theta, beta

    return setup, epoch


class _TorchDAFH:
    """The DAFH objective of spec section 2 in PyTorch, trained by autograd + Adam."""

    def __init__(self, data, dtype):
        import torch

        self.torch = torch
        t = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
        d = data["X"].shape[1]
        self.X = torch.from_numpy(data["X"].astype(dtype))
        self.y_signed = torch.from_numpy((2.0 * data["y"] - 1.0).astype(dtype))
        self.perm = torch.from_numpy(data["perm"])
        self.log_prior = torch.log(torch.full((K,), 1.0 / K, dtype=t))
        self.d = d
        self.dtype = t
        self.data = data

    def params(self):
        torch = self.torch
        d, theta = self.d, torch.from_numpy(self.data["theta"]).to(self.dtype)
        W1 = theta[: d * HIDDEN].reshape(d, HIDDEN).clone().requires_grad_()
        b1 = theta[d * HIDDEN : d * HIDDEN + HIDDEN].clone().requires_grad_()
        off = d * HIDDEN + HIDDEN
        W2 = theta[off : off + HIDDEN * K].reshape(HIDDEN, K).clone().requires_grad_()
        b2 = theta[off + HIDDEN * K :].clone().requires_grad_()
        beta = torch.from_numpy(self.data["beta"]).to(self.dtype).clone().requires_grad_()
        return [W1, b1, W2, b2], beta

    def objective(self, xb, yb, group_params, beta):
        torch = self.torch
        W1, b1, W2, b2 = group_params
        pi = torch.softmax(torch.relu(xb @ W1 + b1) @ W2 + b2, dim=1)
        score = xb @ beta[:, :-1].T + beta[:, -1]
        loss = torch.sigmoid(-yb[:, None] * score)
        pbar = pi.mean(dim=0)
        regulariser = -(pbar * (torch.log(pbar) - self.log_prior)).sum()
        b = xb.shape[0]
        return (loss - 2 * K * pi * loss).sum() / (b * K * K) + regulariser

    def setup(self):
        torch = self.torch
        group_params, beta = self.params()
        opt_group = torch.optim.Adam(group_params, lr=LR_GROUP, maximize=True)
        opt_model = torch.optim.Adam([beta], lr=LR_MODEL, maximize=True)
        return (group_params, beta, opt_group, opt_model), {}

    def epoch(self, group_params, beta, opt_group, opt_model):
        torch = self.torch
        torch.set_num_threads(THREADS)
        n = self.X.shape[0]
        for start in range(0, n, BATCH):
            idx = self.perm[start : start + BATCH]
            F = self.objective(self.X[idx], self.y_signed[idx], group_params, beta)
            F = F - 0.5 * ALPHA * (beta[:, :-1] ** 2).sum()
            opt_group.zero_grad()
            opt_model.zero_grad()
            F.backward()
            opt_group.step()
            opt_model.step()
        return group_params, beta


def _flat_torch(group_params, beta):
    return np.concatenate([p.detach().numpy().ravel() for p in group_params]), beta.detach().numpy()


@pytest.fixture(scope="module")
def agreement(adult):
    """Check fairfast against PyTorch in float64 (one batch's gradients, one epoch)."""
    torch = pytest.importorskip("torch")
    from fairfast.dafh import _kernels

    ref = _TorchDAFH(adult, np.float64)
    rows = adult["perm"][:BATCH]
    group_params, beta = ref.params()
    F_t = ref.objective(ref.X[torch.from_numpy(rows)], ref.y_signed[torch.from_numpy(rows)], group_params, beta)
    F_t.backward()
    g_theta_t, g_beta_t = _flat_torch([p.grad for p in group_params], beta.grad)
    F, g_theta, g_beta = _kernels.batch_objective_gradient(
        np.ascontiguousarray(adult["X"][rows]), np.ascontiguousarray(adult["y"][rows]),
        adult["theta"].copy(), adult["beta"].copy(), adult["sizes"],
    )
    grad_err = max(
        abs(F - F_t.item()) / abs(F_t.item()),
        np.abs(g_theta - g_theta_t).max() / np.abs(g_theta_t).max(),
        np.abs(g_beta - g_beta_t).max() / np.abs(g_beta_t).max(),
    )
    assert grad_err < 1e-9, f"objective/gradient disagree with PyTorch: {grad_err:.2e}"

    setup, epoch = _fairfast_epoch(adult, np.float64)
    args, _ = setup()
    theta, beta_ff = epoch(*args)
    args_t, _ = ref.setup()
    theta_t, beta_t = _flat_torch(*ref.epoch(*args_t))
    epoch_err = max(
        np.abs(theta - theta_t).max() / np.abs(theta_t).max(), np.abs(beta_ff - beta_t).max() / np.abs(beta_t).max()
    )
    assert epoch_err < 1e-6, f"parameters after one epoch disagree with PyTorch: {epoch_err:.2e}"
    return {"gradient_rel_diff": float(grad_err), "epoch_params_rel_diff": float(epoch_err)}


@pytest.fixture(scope="module", autouse=True)
def _print_ratios():
    yield
    for dtype in ("float32", "float64"):
        ours, theirs = _MEDIANS.get(("fairfast", dtype)), _MEDIANS.get(("torch", dtype))
        if ours and theirs:
            print(f"\n{GROUP} {dtype} ({THREADS} thread): median fairfast {ours[0] * 1e3:.1f} ms, torch "
                  f"{theirs[0] * 1e3:.1f} ms per epoch -> torch / fairfast = {theirs[0] / ours[0]:.2f}x; "
                  f"min {ours[1] * 1e3:.1f} vs {theirs[1] * 1e3:.1f} ms -> {theirs[1] / ours[1]:.2f}x")


# impl varies fastest, so the two implementations of one dtype run back to back (a
# shared machine's load drifts less between them)
@pytest.mark.parametrize("impl", ["fairfast", "torch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_dafh_epoch(benchmark, adult, agreement, impl, dtype):
    benchmark.group = GROUP
    if impl == "fairfast":
        setup, epoch = _fairfast_epoch(adult, dtype)
        threads = {"fairfast_threads": THREADS}
    else:
        import torch

        ref = _TorchDAFH(adult, dtype)
        setup, epoch = ref.setup, ref.epoch
        torch.set_num_threads(THREADS)
        threads = {"torch_threads": torch.get_num_threads(), "torch_version": torch.__version__}
    args, _ = setup()
    start = time.perf_counter()
    epoch(*args)  # warm-up (compilation / allocator), untimed
    warm = time.perf_counter() - start
    benchmark.extra_info.update(
        {"impl": impl, "dtype": np.dtype(dtype).name, "rows": int(adult["X"].shape[0]),
         "features": int(adult["X"].shape[1]), "K": K, "batch_size": BATCH, "hidden": HIDDEN,
         "warmup_seconds": warm, **threads, **agreement}
    )
    benchmark.pedantic(epoch, setup=setup, rounds=7, iterations=1)
    _MEDIANS[(impl, np.dtype(dtype).name)] = (benchmark.stats.stats.median, benchmark.stats.stats.min)
