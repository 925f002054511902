"""Numba kernels of the DAFH training loop.

Imported lazily by :class:`fairfast.dafh.DAFHClassifier` the first time it is fit, so
``import fairfast`` and ``import fairfast.dafh`` never import Numba. Every kernel is
compiled with ``cache=True`` and ``error_model="numpy"`` from explicit float32 and
float64 signatures (the arrays of one call share one dtype; scalar accumulators such
as the objective and the mean assignment are float64 in both).

Parameter layout
----------------
``sizes`` is the int64 vector ``[d, h_1, ..., h_L, K]`` of the group classifier's layer
widths. ``theta`` is the flat vector of its parameters, layer after layer, each layer
``l`` (``sizes[l] -> sizes[l+1]``) stored as its weight matrix ``(sizes[l], sizes[l+1])``
in row-major order followed by its bias. Hidden layers use ReLU, the last layer gives
the logits ``z`` and ``pi = softmax(z)``. ``beta`` is ``(K, d + 1)``: row ``k`` holds
the weights and (last) the intercept of the decoupled logistic model ``h_k``.

Objective (spec section 2, with batch size ``b`` in place of ``n``)::

    F = 1/(b K^2) sum_i sum_k (L_ik - 2 K pi_ik L_ik) + lam * Gamma
    L_ik = sigmoid(-gamma * (2 y_i - 1) * s_ik),    s_ik = w_k . x_i + c_k
    Gamma = -KL(pibar || rho) = -sum_k pibar_k (log pibar_k - log rho_k)

and its analytic gradients (spec section 3), back-propagated through the MLP.
"""

import math

import numba as nb
import numpy as np
from numba import types

__all__ = ["batch_objective_gradient", "forward", "theta_size", "train_epoch"]

_TINY = 1e-300
#: layers with fewer outputs than this (the K logits) loop over their inputs innermost
_NARROW = 8


def theta_size(sizes):
    """Number of parameters of the group classifier with layer widths ``sizes``."""
    sizes = [int(s) for s in sizes]
    return sum(sizes[l] * sizes[l + 1] + sizes[l + 1] for l in range(len(sizes) - 1))


def _signatures_batch():
    sigs = []
    for ft in (types.float32, types.float64):
        a1 = types.Array(ft, 1, "C")
        a2 = types.Array(ft, 2, "C")
        i1 = types.Array(types.int64, 1, "C")
        f8_1 = types.Array(types.float64, 1, "C")
        sigs.append(
            types.float64(
                a2, a1, i1, types.int64, types.int64,  # X, y, rows, start, stop
                a1, a2, i1,  # theta, beta, sizes
                types.float64, types.float64, types.float64, f8_1,  # gamma, lam, envy, log_prior
                a1, a2,  # grad_theta, grad_beta
                a2, a2, a2, a2, a1, a1,  # act, score, loss, pi, delta_a, delta_b
            )
        )
    return sigs


def _signatures_epoch():
    sigs = []
    for ft in (types.float32, types.float64):
        a1 = types.Array(ft, 1, "C")
        a2 = types.Array(ft, 2, "C")
        i1 = types.Array(types.int64, 1, "C")
        f8_1 = types.Array(types.float64, 1, "C")
        sigs.append(
            types.float64(
                a2, a1, i1, types.int64,  # X, y, perm, batch_size
                a1, a2, i1,  # theta, beta, sizes
                types.float64, types.float64, types.float64, f8_1, types.float64,  # gamma, lam, envy, log_prior, alpha
                types.float64, types.float64, types.float64, types.float64, types.float64,  # lrs, betas, eps
                a1, a1, a2, a2, types.int64,  # Adam moments, step
            )
        )
    return sigs


def _signatures_forward():
    sigs = []
    for ft in (types.float32, types.float64):
        a1 = types.Array(ft, 1, "C")
        a2 = types.Array(ft, 2, "C")
        i1 = types.Array(types.int64, 1, "C")
        sigs.append(types.void(a2, a1, a2, i1, a2, a2))
    return sigs


@nb.njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _mlp_forward(theta, sizes, nz_idx, nz_val, cnt, a, pi_row):
    # Group-classifier MLP of one row, from its cnt non-zero features (nz_idx, nz_val):
    # post-activations of every layer into a (ReLU between layers, logits last), the
    # softmax of the logits into pi_row.
    n_layers = sizes.shape[0] - 1
    K = sizes[n_layers]
    w_off = 0
    col = 0
    prev_col = 0
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        b_off = w_off + n_in * n_out
        W = theta[w_off:b_off].reshape((n_in, n_out))
        out = a[col : col + n_out]
        out[:] = theta[b_off : b_off + n_out]
        if layer == 0:
            for q in range(cnt):
                xj = nz_val[q]
                w = W[nz_idx[q]]
                for h in range(n_out):
                    out[h] += xj * w[h]
        elif n_out < _NARROW:
            # narrow layer: one dot product per output, four partial sums
            for h in range(n_out):
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                j = 0
                while j + 4 <= n_in:
                    s0 += a[prev_col + j] * W[j, h]
                    s1 += a[prev_col + j + 1] * W[j + 1, h]
                    s2 += a[prev_col + j + 2] * W[j + 2, h]
                    s3 += a[prev_col + j + 3] * W[j + 3, h]
                    j += 4
                while j < n_in:
                    s0 += a[prev_col + j] * W[j, h]
                    j += 1
                out[h] += (s0 + s1) + (s2 + s3)
        else:
            for j in range(n_in):
                aj = a[prev_col + j]
                if aj != 0.0:
                    w = W[j]
                    for h in range(n_out):
                        out[h] += aj * w[h]
        if layer < n_layers - 1:
            for h in range(n_out):
                if out[h] < 0.0:
                    out[h] = 0.0
        prev_col = col
        col += n_out
        w_off = b_off + n_out
    # softmax of the logits (last K columns)
    zmax = a[prev_col]
    for k in range(1, K):
        if a[prev_col + k] > zmax:
            zmax = a[prev_col + k]
    zsum = 0.0
    for k in range(K):
        e = math.exp(a[prev_col + k] - zmax)
        pi_row[k] = e
        zsum += e
    for k in range(K):
        pi_row[k] = pi_row[k] / zsum


@nb.njit(_signatures_batch(), cache=True, error_model="numpy", nogil=True)
def _batch_objective_gradient(
    X, y, rows, start, stop, theta, beta, sizes, gamma, lam, envy, log_prior,
    g_theta, g_beta, act, score, loss, pi, delta_a, delta_b,
):
    # Objective F of the rows rows[start:stop] and its gradient (ascent direction),
    # written into g_theta / g_beta (overwritten). act (b, sum(sizes[1:])) holds the
    # post-activations of every layer of every row, score/loss/pi are (b, K).
    nb_rows = stop - start
    n_layers = sizes.shape[0] - 1
    d = sizes[0]
    K = sizes[n_layers]
    g_theta[:] = 0.0
    g_beta[:] = 0.0
    c = 1.0 / (nb_rows * K * K)

    # Non-zero entries of every row, gathered once: one-hot columns are mostly zero
    # and every pass over a row's features below only visits these.
    nz_idx = np.empty((nb_rows, d), dtype=np.int64)
    nz_val = np.empty((nb_rows, d), dtype=X.dtype)
    nz_cnt = np.empty(nb_rows, dtype=np.int64)

    # ---- forward pass, row by row ----
    for t in range(nb_rows):
        i = rows[start + t]
        cnt = 0
        for j in range(d):
            xj = X[i, j]
            if xj != 0.0:
                nz_idx[t, cnt] = j
                nz_val[t, cnt] = xj
                cnt += 1
        nz_cnt[t] = cnt
        a = act[t]
        _mlp_forward(theta, sizes, nz_idx[t], nz_val[t], cnt, a, pi[t])
        # decoupled scores and smoothed losses
        yt = 2.0 * y[i] - 1.0
        for k in range(K):
            score[t, k] = beta[k, d]
        for q in range(cnt):
            xj = nz_val[t, q]
            j = nz_idx[t, q]
            for k in range(K):
                score[t, k] += xj * beta[k, j]
        for k in range(K):
            loss[t, k] = 1.0 / (1.0 + math.exp(gamma * yt * score[t, k]))

    # ---- objective ----
    logit_col = 0
    for layer in range(n_layers - 1):
        logit_col += sizes[layer + 1]
    total = 0.0
    for t in range(nb_rows):
        for k in range(K):
            total += loss[t, k] * (envy - 2.0 * K * pi[t, k])
    objective = c * total
    lq = np.empty(K)  # log pibar_k - log rho_k
    gam_val = 0.0
    for k in range(K):
        m = 0.0
        for t in range(nb_rows):
            m += pi[t, k]
        m /= nb_rows
        lq[k] = math.log(max(m, _TINY)) - log_prior[k]
        if m > 0.0:
            gam_val -= m * lq[k]
    objective += lam * gam_val

    # ---- backward pass, row by row ----
    for t in range(nb_rows):
        yt = 2.0 * y[rows[start + t]] - 1.0
        lbar = 0.0
        qbar = 0.0
        for k in range(K):
            lbar += pi[t, k] * loss[t, k]
            qbar += pi[t, k] * lq[k]
        # decoupled models: dF/ds_ik = c (envy - 2K pi_ik) D_ik
        cnt = nz_cnt[t]
        for k in range(K):
            lk = loss[t, k]
            gs = c * (envy - 2.0 * K * pi[t, k]) * (-gamma * yt * lk * (1.0 - lk))
            g_beta[k, d] += gs
            for q in range(cnt):
                g_beta[k, nz_idx[t, q]] += gs * nz_val[t, q]
        # logits: dF/dz_im
        for k in range(K):
            p = pi[t, k]
            delta_a[k] = -2.0 * K * c * p * (loss[t, k] - lbar) - (lam / nb_rows) * p * (lq[k] - qbar)
        # back-propagate through the layers, last to first
        n_out = K
        col = logit_col
        w_end = theta.shape[0]
        cur = delta_a
        nxt = delta_b
        for layer in range(n_layers - 1, -1, -1):
            n_in = sizes[layer]
            b_off = w_end - n_out
            w_off = b_off - n_in * n_out
            W = theta[w_off:b_off].reshape((n_in, n_out))
            G = g_theta[w_off:b_off].reshape((n_in, n_out))
            gb = g_theta[b_off : b_off + n_out]
            dz = cur[:n_out]
            for h in range(n_out):
                gb[h] += dz[h]
            if layer == 0:
                for q in range(cnt):
                    xj = nz_val[t, q]
                    g = G[nz_idx[t, q]]
                    for h in range(n_out):
                        g[h] += xj * dz[h]
            else:
                prev_col = col - n_in
                a = act[t, prev_col : prev_col + n_in]
                nx = nxt[:n_in]
                if n_out < _NARROW:
                    # narrow layer (the K logits): long loops over the inputs instead
                    # of n_in loops of n_out iterations
                    nx[:] = 0.0
                    for h in range(n_out):
                        dh = dz[h]
                        if dh != 0.0:
                            for j in range(n_in):
                                G[j, h] += a[j] * dh
                                nx[j] += W[j, h] * dh
                    # ReLU: the derivative is 1 where the activation is positive
                    for j in range(n_in):
                        if a[j] <= 0.0:
                            nx[j] = 0.0
                else:
                    for j in range(n_in):
                        aj = a[j]
                        if aj > 0.0:
                            g = G[j]
                            w = W[j]
                            acc = 0.0
                            for h in range(n_out):
                                g[h] += aj * dz[h]
                                acc += w[h] * dz[h]
                            nx[j] = acc
                        else:
                            nx[j] = 0.0
                tmp = cur
                cur = nxt
                nxt = tmp
                col = prev_col
            n_out = n_in
            w_end = w_off
    return objective


@nb.njit(_signatures_epoch(), cache=True, error_model="numpy", nogil=True)
def _train_epoch(
    X, y, perm, batch_size, theta, beta, sizes, gamma, lam, envy, log_prior, alpha,
    lr_theta, lr_h, beta1, beta2, eps, m_theta, v_theta, m_beta, v_beta, step,
):
    # One pass over the rows in the order perm, mini-batches of batch_size, Adam
    # ascent with separate step sizes. Returns the mean batch objective.
    n = perm.shape[0]
    n_layers = sizes.shape[0] - 1
    K = sizes[n_layers]
    d = sizes[0]
    width = 0
    max_width = K
    for layer in range(n_layers):
        width += sizes[layer + 1]
        if sizes[layer + 1] > max_width:
            max_width = sizes[layer + 1]
    dt = X.dtype
    g_theta = np.empty_like(theta)
    g_beta = np.empty_like(beta)
    act = np.empty((batch_size, width), dtype=dt)
    score = np.empty((batch_size, K), dtype=dt)
    loss = np.empty((batch_size, K), dtype=dt)
    pi = np.empty((batch_size, K), dtype=dt)
    delta_a = np.empty(max_width, dtype=dt)
    delta_b = np.empty(max_width, dtype=dt)
    total = 0.0
    n_batches = 0
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        total += _batch_objective_gradient(
            X, y, perm, start, stop, theta, beta, sizes, gamma, lam, envy, log_prior,
            g_theta, g_beta, act, score, loss, pi, delta_a, delta_b,
        )
        n_batches += 1
        step += 1
        # Adam as in PyTorch: p += lr / c1 * m / (sqrt(v / c2) + eps)
        corr1 = 1.0 - beta1**step
        root2 = 1.0 / math.sqrt(1.0 - beta2**step)
        a_t = lr_theta / corr1
        for p in range(theta.shape[0]):
            g = g_theta[p]
            m_theta[p] = beta1 * m_theta[p] + (1.0 - beta1) * g
            v_theta[p] = beta2 * v_theta[p] + (1.0 - beta2) * g * g
            theta[p] += a_t * m_theta[p] / (math.sqrt(v_theta[p]) * root2 + eps)
        a_h = lr_h / corr1
        for k in range(K):
            for j in range(d + 1):
                g = g_beta[k, j]
                if j < d:
                    g -= alpha * beta[k, j]  # L2 penalty on the weights, not the intercept
                m_beta[k, j] = beta1 * m_beta[k, j] + (1.0 - beta1) * g
                v_beta[k, j] = beta2 * v_beta[k, j] + (1.0 - beta2) * g * g
                beta[k, j] += a_h * m_beta[k, j] / (math.sqrt(v_beta[k, j]) * root2 + eps)
    return total / max(n_batches, 1)


@nb.njit(_signatures_forward(), cache=True, error_model="numpy", nogil=True)
def _forward(X, theta, beta, sizes, pi, score):
    # Assignment probabilities pi (n, K) and decoupled scores (n, K) of every row.
    n = X.shape[0]
    n_layers = sizes.shape[0] - 1
    d = sizes[0]
    K = sizes[n_layers]
    width = 0
    for layer in range(n_layers):
        width += sizes[layer + 1]
    a = np.empty(width, dtype=X.dtype)
    nz_idx = np.empty(d, dtype=np.int64)
    nz_val = np.empty(d, dtype=X.dtype)
    for i in range(n):
        cnt = 0
        for j in range(d):
            xj = X[i, j]
            if xj != 0.0:
                nz_idx[cnt] = j
                nz_val[cnt] = xj
                cnt += 1
        _mlp_forward(theta, sizes, nz_idx, nz_val, cnt, a, pi[i])
        for k in range(K):
            score[i, k] = beta[k, d]
        for q in range(cnt):
            xj = nz_val[q]
            j = nz_idx[q]
            for k in range(K):
                score[i, k] += xj * beta[k, j]


def _workspace(n_rows, sizes, dtype):
    sizes = [int(s) for s in sizes]
    K = sizes[-1]
    width = sum(sizes[1:])
    max_width = max(sizes[1:])
    return (
        np.empty((n_rows, width), dtype=dtype),
        np.empty((n_rows, K), dtype=dtype),
        np.empty((n_rows, K), dtype=dtype),
        np.empty((n_rows, K), dtype=dtype),
        np.empty(max_width, dtype=dtype),
        np.empty(max_width, dtype=dtype),
    )


def batch_objective_gradient(X, y, theta, beta, sizes, *, gamma=1.0, lam=1.0, envy=1.0, log_prior=None):
    """Objective ``F`` of one mini-batch and its gradient with respect to all parameters.

    Parameters
    ----------
    X : ndarray of shape (b, d), float32 or float64, C-contiguous
    y : ndarray of shape (b,), same dtype, values 0/1
    theta : ndarray of shape (theta_size(sizes),), same dtype
    beta : ndarray of shape (K, d + 1), same dtype
    sizes : sequence of int, ``[d, h_1, ..., h_L, K]``
    gamma, lam : float
    envy : float
        Weight of the first (envy) term, 1 in the paper's objective.
    log_prior : ndarray of shape (K,), optional
        Log of the target shares ``rho``; uniform when None.

    Returns
    -------
    objective : float
    grad_theta : ndarray like ``theta``
    grad_beta : ndarray like ``beta``
    """
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    K = int(sizes[-1])
    if log_prior is None:
        log_prior = np.full(K, -math.log(K))
    log_prior = np.ascontiguousarray(log_prior, dtype=np.float64)
    n = X.shape[0]
    rows = np.arange(n, dtype=np.int64)
    g_theta = np.empty_like(theta)
    g_beta = np.empty_like(beta)
    work = _workspace(n, sizes, X.dtype)
    objective = _batch_objective_gradient(
        X, y, rows, 0, n, theta, beta, sizes, float(gamma), float(lam), float(envy), log_prior, g_theta, g_beta, *work
    )
    return objective, g_theta, g_beta


def train_epoch(X, y, perm, batch_size, theta, beta, sizes, gamma, lam, envy, log_prior, alpha,
                lr_theta, lr_h, adam_state, betas=(0.9, 0.999), eps=1e-8):
    """One epoch of Adam ascent, updating ``theta``, ``beta`` and ``adam_state`` in place.

    ``adam_state`` is a dict with ``m_theta``, ``v_theta``, ``m_beta``, ``v_beta`` and
    ``step``. Returns the mean objective of the epoch's mini-batches (before each
    update).
    """
    n_batches = -(-perm.shape[0] // batch_size)
    value = _train_epoch(
        X, y, perm, int(batch_size), theta, beta, sizes, float(gamma), float(lam), float(envy), log_prior, float(alpha),
        float(lr_theta), float(lr_h), float(betas[0]), float(betas[1]), float(eps),
        adam_state["m_theta"], adam_state["v_theta"], adam_state["m_beta"], adam_state["v_beta"],
        int(adam_state["step"]),
    )
    adam_state["step"] += n_batches
    return value


def forward(X, theta, beta, sizes):
    """Assignment probabilities ``pi`` (n, K) and decoupled scores (n, K) of every row."""
    # The compiled signatures take writeable C arrays; parameters loaded read-only (e.g.
    # from a memory-mapped pickle) are copied, which is cheap next to the rows.
    X, theta, beta, sizes = (np.require(a, requirements=["C", "W"]) for a in (X, theta, beta, sizes))
    K = int(sizes[-1])
    pi = np.empty((X.shape[0], K), dtype=X.dtype)
    score = np.empty((X.shape[0], K), dtype=X.dtype)
    _forward(X, theta, beta, sizes, pi, score)
    return pi, score
