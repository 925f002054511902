"""DAFH objective and gradients (spec dafh.md section 9, cases 1-6)."""

import math

import numpy as np
import pytest

kernels = pytest.importorskip("fairfast.dafh._kernels")


def unpack(theta, sizes):
    layers, off = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = theta[off : off + n_in * n_out].reshape(n_in, n_out)
        off += n_in * n_out
        b = theta[off : off + n_out]
        off += n_out
        layers.append((W, b))
    return layers


def reference_parts(X, y, theta, beta, sizes, gamma):
    """Slow, obvious versions of pi (softmax of the MLP) and the smoothed losses."""
    a = X
    layers = unpack(theta, sizes)
    for l, (W, b) in enumerate(layers):
        a = a @ W + b
        if l < len(layers) - 1:
            a = np.maximum(a, 0.0)
    z = a - a.max(axis=1, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    s = X @ beta[:, :-1].T + beta[:, -1]
    yt = 2.0 * y - 1.0
    L = 1.0 / (1.0 + np.exp(gamma * yt[:, None] * s))
    return pi, L


def reference_objective(X, y, theta, beta, sizes, gamma, lam, prior=None, envy=1.0):
    pi, L = reference_parts(X, y, theta, beta, sizes, gamma)
    n, K = pi.shape
    prior = np.full(K, 1.0 / K) if prior is None else prior
    pbar = pi.mean(axis=0)
    Gamma = -np.sum(pbar * (np.log(pbar) - np.log(prior)))
    return np.sum(envy * L - 2 * K * pi * L) / (n * K * K) + lam * Gamma


def random_problem(rng, K, hidden, n=12, d=3, dtype=np.float64):
    sizes = [d, *hidden, K]
    X = rng.normal(size=(n, d)).astype(dtype)
    X[rng.random((n, d)) < 0.2] = 0.0  # exercise the skipped zeros
    y = (rng.random(n) < 0.5).astype(dtype)
    theta = rng.normal(0, 0.7, kernels.theta_size(sizes)).astype(dtype)
    beta = rng.normal(0, 0.7, (K, d + 1)).astype(dtype)
    return X, y, theta, beta, sizes


@pytest.mark.parametrize("seed", range(8))
def test_gradient_matches_finite_differences(seed):
    # Case 1: central differences, float64, relative tolerance 1e-6. The hidden sizes
    # cover both loop orders of a layer after the first (narrow: fewer than 8 outputs,
    # as the K logits; wide: 9 outputs).
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, 5))
    hidden = [(), (4,), (5, 3), (5, 9)][seed % 4]
    gamma = float(rng.uniform(0.5, 3.0))
    lam = float(rng.uniform(0.0, 2.0))
    envy = [1.0, 0.0, float(rng.uniform(0.0, 1.0))][seed % 3]
    X, y, theta, beta, sizes = random_problem(rng, K, hidden)
    F, g_theta, g_beta = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=gamma, lam=lam, envy=envy)
    expected = reference_objective(X, y, theta, beta, sizes, gamma, lam, envy=envy)
    assert F == pytest.approx(expected, rel=1e-12, abs=1e-14)

    def f(t, b):
        return reference_objective(X, y, t, b, sizes, gamma, lam, envy=envy)

    eps = 1e-6
    num_theta = np.empty_like(theta)
    for q in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[q] += eps
        tm[q] -= eps
        num_theta[q] = (f(tp, beta) - f(tm, beta)) / (2 * eps)
    num_beta = np.empty_like(beta)
    for q in np.ndindex(beta.shape):
        bp, bm = beta.copy(), beta.copy()
        bp[q] += eps
        bm[q] -= eps
        num_beta[q] = (f(theta, bp) - f(theta, bm)) / (2 * eps)
    scale = max(np.abs(num_theta).max(), np.abs(num_beta).max())
    np.testing.assert_allclose(g_theta, num_theta, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(g_beta, num_beta, rtol=1e-6, atol=1e-6 * scale)


def test_envy_weight_changes_only_the_decoupled_gradient():
    # The envy term sum_ik L_ik does not depend on the group classifier: its weight
    # changes the decoupled models' gradient (by c * envy * D_ik) and nothing else.
    rng = np.random.default_rng(21)
    K = 3
    X, y, theta, beta, sizes = random_problem(rng, K, (5,), n=30)
    F1, gt1, gb1 = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.5, lam=0.3, envy=1.0)
    F0, gt0, gb0 = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.5, lam=0.3, envy=0.0)
    np.testing.assert_array_equal(gt1, gt0)
    pi, L = reference_parts(X, y, theta, beta, sizes, 1.5)
    n = X.shape[0]
    assert F1 - F0 == pytest.approx(L.sum() / (n * K * K), rel=1e-12)
    # envy = 0: each h_k descends its pi-weighted smoothed loss, -2/(nK) sum_i pi_ik L_ik
    D = -1.5 * (2 * y - 1)[:, None] * L * (1 - L)
    weighted = -2.0 / (n * K) * pi * D
    np.testing.assert_allclose(gb0[:, :-1], weighted.T @ X, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(gb0[:, -1], weighted.sum(axis=0), rtol=1e-10, atol=1e-15)


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(7)
    X, y, theta, beta, sizes = random_problem(rng, 3, (6,), n=40, d=5)
    F64, gt64, gb64 = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.5, lam=0.5)
    args32 = [a.astype(np.float32) for a in (X, y, theta, beta)]
    F32, gt32, gb32 = kernels.batch_objective_gradient(*args32, sizes, gamma=1.5, lam=0.5)
    assert gt32.dtype == np.float32 and gb32.dtype == np.float32
    assert F32 == pytest.approx(F64, abs=1e-5)
    np.testing.assert_allclose(gt32, gt64, atol=1e-5)
    np.testing.assert_allclose(gb32, gb64, atol=1e-5)


@pytest.mark.parametrize("K", [1, 2, 4])
def test_envy_rationality_identity(K):
    # Case 2: summing envy + rationality margins over every (k, j) gives F - lam*Gamma
    # plus the constant mean pooled loss / K.
    rng = np.random.default_rng(K)
    X, y, theta, beta, sizes = random_problem(rng, K, (4,), n=30)
    lam, gamma = 0.8, 1.3
    F, _, _ = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=gamma, lam=lam)
    pi, score = kernels.forward(X, theta, beta, np.asarray(sizes, dtype=np.int64))
    L = 1.0 / (1.0 + np.exp(gamma * (2 * y - 1)[:, None] * score))
    beta0 = rng.normal(size=X.shape[1] + 1)
    L0 = 1.0 / (1.0 + np.exp(gamma * (2 * y - 1) * (X @ beta0[:-1] + beta0[-1])))
    n = X.shape[0]
    lhs = 0.0
    for k in range(K):
        for j in range(K):
            lhs += np.sum(pi[:, k] * ((L[:, j] - L[:, k]) + (L0 - L[:, k])))
    lhs /= n * K * K
    pbar = pi.mean(axis=0)
    Gamma = -np.sum(pbar * np.log(pbar * K))
    assert lhs == pytest.approx((F - lam * Gamma) + L0.mean() / K, rel=1e-12, abs=1e-14)


def test_single_group_is_plain_smoothed_loss():
    # Case 3: K = 1 -> F = -mean L, Gamma = 0, the group classifier gets no gradient.
    rng = np.random.default_rng(3)
    X, y, theta, beta, sizes = random_problem(rng, 1, (4,), n=25)
    F, g_theta, g_beta = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=2.0, lam=5.0)
    _, L = reference_parts(X, y, theta, beta, sizes, 2.0)
    assert F == pytest.approx(-L.mean(), rel=1e-12)
    assert np.all(g_theta == 0.0)
    # and the decoupled gradient is that of -mean L
    D = -2.0 * (2 * y - 1) * L[:, 0] * (1 - L[:, 0])
    np.testing.assert_allclose(g_beta[0, :-1], -(D @ X) / X.shape[0], rtol=1e-10)


def test_jointly_permuting_groups_leaves_objective_unchanged():
    # Case 4: relabel the groups in the softmax head and the decoupled models together.
    rng = np.random.default_rng(4)
    K = 4
    X, y, theta, beta, sizes = random_problem(rng, K, (5,), n=30)
    perm = np.array([2, 0, 3, 1])
    W, b = unpack(theta, sizes)[-1]
    theta_p = theta.copy()
    Wp, bp = unpack(theta_p, sizes)[-1]
    Wp[:] = W[:, perm]
    bp[:] = b[perm]
    F, gt, gb = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.0, lam=0.7)
    Fp, gtp, gbp = kernels.batch_objective_gradient(X, y, theta_p, beta[perm], sizes, gamma=1.0, lam=0.7)
    assert Fp == pytest.approx(F, rel=1e-12)
    np.testing.assert_allclose(gbp, gb[perm], rtol=1e-10, atol=1e-15)
    gW, _ = unpack(gt, sizes)[-1]
    gWp, _ = unpack(gtp, sizes)[-1]
    np.testing.assert_allclose(gWp, gW[:, perm], rtol=1e-10, atol=1e-15)
    # the permutation must matter for a non-symmetric relabelling of one side only
    Fq, _, _ = kernels.batch_objective_gradient(X, y, theta, beta[perm], sizes, gamma=1.0, lam=0.7)
    assert Fq != pytest.approx(F, rel=1e-6)


def _regulariser(bias, K, prior=None):
    # Gamma for a group classifier that ignores x (zero weights) and has these biases.
    rng = np.random.default_rng(0)
    X, y, _, beta, sizes = random_problem(rng, K, (), n=10)
    theta = np.zeros(kernels.theta_size(sizes))
    theta[-K:] = bias
    log_prior = None if prior is None else np.log(prior)
    F1, _, _ = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.0, lam=1.0, log_prior=log_prior)
    F0, _, _ = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.0, lam=0.0, log_prior=log_prior)
    return F1 - F0


@pytest.mark.parametrize("K", [2, 3, 4])
def test_regulariser_values(K):
    # Case 5: Gamma = 0 iff pibar is uniform; Gamma(one-hot collapse) = -log K.
    assert _regulariser(np.zeros(K), K) == pytest.approx(0.0, abs=1e-15)
    collapse = np.zeros(K)
    collapse[1] = 60.0
    assert _regulariser(collapse, K) == pytest.approx(-math.log(K), rel=1e-10)
    tilted = np.linspace(0.0, 1.0, K)
    assert _regulariser(tilted, K) < -1e-3
    # with a prior, the maximum moves to the prior
    prior = np.exp(tilted) / np.exp(tilted).sum()
    assert _regulariser(tilted, K, prior=prior) == pytest.approx(0.0, abs=1e-14)
    assert _regulariser(np.zeros(K), K, prior=prior) < -1e-3


def _single_row_loss(s, y, gamma):
    # K = 1 and one row: F = -L.
    X = np.array([[1.0]])
    beta = np.array([[s, 0.0]])
    theta = np.zeros(kernels.theta_size([1, 1]))
    F, _, _ = kernels.batch_objective_gradient(X, np.array([float(y)]), theta, beta, [1, 1], gamma=gamma, lam=0.0)
    return -F


@pytest.mark.parametrize("s", [-3.0, -0.4, 0.2, 2.5])
@pytest.mark.parametrize("y", [0, 1])
def test_sigmoid_loss(s, y):
    # Case 6: gamma = 1 -> |y - sigmoid(s)|; gamma -> inf -> 0-1 loss.
    sigma = 1.0 / (1.0 + math.exp(-s))
    assert _single_row_loss(s, y, 1.0) == pytest.approx(abs(y - sigma), rel=1e-12)
    zero_one = float((s > 0) != bool(y))
    assert _single_row_loss(s, y, 1e4) == pytest.approx(zero_one, abs=1e-12)
    assert abs(_single_row_loss(s, y, 50.0) - zero_one) < abs(_single_row_loss(s, y, 2.0) - zero_one)


def test_train_epoch_ascends_the_objective():
    rng = np.random.default_rng(11)
    X, y, theta, beta, sizes = random_problem(rng, 2, (4,), n=200, d=4)
    sizes = np.asarray(sizes, dtype=np.int64)
    log_prior = np.log(np.full(2, 0.5))
    F_before, _, _ = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.0, lam=1.0)
    state = {"m_theta": np.zeros_like(theta), "v_theta": np.zeros_like(theta)}
    state.update(m_beta=np.zeros_like(beta), v_beta=np.zeros_like(beta))
    state["step"] = 0
    perm = np.arange(200, dtype=np.int64)
    for _ in range(5):
        kernels.train_epoch(X, y, perm, 200, theta, beta, sizes, 1.0, 1.0, 1.0, log_prior, 0.0, 1e-2, 1e-2, state)
    assert state["step"] == 5
    F_after, _, _ = kernels.batch_objective_gradient(X, y, theta, beta, sizes, gamma=1.0, lam=1.0)
    assert F_after > F_before
