"""Synthetic univariate experiment: optimal steering vs mean matching and MiMiC.

Two groups with Gaussian class-conditional features and different base rates. Each
method transforms the training and test features; EF steering also reweights the
rows (``GaussianSteering.sample_weights``), since exact fairness needs equal base
rates. A Gaussian Bayes classifier is fitted on the (weighted) transformed
training rows and scored on the (weighted) transformed test rows at the cost
``c = 0.5``: error, demographic-parity gap, equal-opportunity (TPR) gap, and the
Gaussian KL of the transformed distribution from the original one. Two classifiers:
the group-aware rule ``h(x, a)`` of the theory, and a group-blind rule ``h(x)`` (class
densities mixed over groups). Per-group bijections such as mean matching or MiMiC
cannot change a group-aware Bayes rule -- they only relabel ``x`` inside each group --
so they matter only for group-blind classifiers.

Run: ``python examples/steering_synthetic.py``.
"""

import numpy as np

from fairfast.steering import GaussianSteering, MeanCovarianceMatching, MeanMatching, gaussian_kl

# group 0 (60%): base rate 0.5, classes N(0, 1) and N(2, 1)
# group 1 (40%): base rate 0.3, classes N(0.5, 1.5^2) and N(1.5, 1)
GROUP_SHARE = 0.6
BASE_RATE = (0.5, 0.3)
MEANS = ((0.0, 2.0), (0.5, 1.5))
SDS = ((1.0, 1.0), (1.5, 1.0))


def sample(n, rng):
    a = (rng.random(n) >= GROUP_SHARE).astype(int)
    y = (rng.random(n) < np.take(BASE_RATE, a)).astype(int)
    mu = np.asarray(MEANS)[a, y]
    sd = np.asarray(SDS)[a, y]
    return (mu + sd * rng.standard_normal(n))[:, None], y, a


def _moments(x, y, a, w):
    m = np.empty((2, 2))
    v = np.empty((2, 2))
    q = np.empty((2, 2))
    for g in range(2):
        for i in range(2):
            s = (a == g) & (y == i)
            ww = w[s] / w[s].sum()
            m[g, i] = ww @ x[s]
            v[g, i] = ww @ (x[s] - m[g, i]) ** 2
            q[g, i] = w[s].sum()
    return m, v, q / q.sum()


def _bayes_predict(m, v, q, x, a):
    ll = -0.5 * (x[:, None] - m[a]) ** 2 / v[a] - 0.5 * np.log(v[a]) + np.log(q[a])
    return (ll[:, 1] > ll[:, 0]).astype(int)


def _blind_predict(m, v, q, x):
    """Group-blind Bayes rule: class densities are the mixtures over groups."""
    dens = q[None] * np.exp(-0.5 * (x[:, None, None] - m[None]) ** 2 / v[None]) / np.sqrt(v[None])
    lik = dens.sum(axis=1)  # (n, classes)
    return (lik[:, 1] > lik[:, 0]).astype(int)


def _rates(h, y, a, w):
    err = np.average(h != y, weights=w)
    pos = [np.average(h[a == g], weights=w[a == g]) for g in range(2)]
    tpr = [np.average(h[(a == g) & (y == 1)], weights=w[(a == g) & (y == 1)]) for g in range(2)]
    return float(err), float(abs(pos[0] - pos[1])), float(abs(tpr[0] - tpr[1]))


def score(x_tr, x_te, y_tr, y_te, a_tr, a_te, w_tr, w_te, orig):
    x_tr, x_te = x_tr[:, 0], x_te[:, 0]
    m, v, q = _moments(x_tr, y_tr, a_tr, w_tr)
    err, dp, eo = _rates(_bayes_predict(m, v, q, x_te, a_te), y_te, a_te, w_te)
    b_err, b_dp, b_eo = _rates(_blind_predict(m, v, q, x_te), y_te, a_te, w_te)
    m0, v0, q0 = orig
    kl = float((q * np.log(q / q0)).sum())
    kl += sum(q[g, i] * gaussian_kl(m[g, i], v[g, i], m0[g, i], v0[g, i]) for g in range(2) for i in range(2))
    return dict(error=err, dp_gap=dp, eo_gap=eo, kl=kl, blind_error=b_err, blind_dp_gap=b_dp, blind_eo_gap=b_eo)


def run_experiment(n=20_000, seed=0):
    """Scores of each method on fresh train/test samples of size ``n``."""
    rng = np.random.default_rng(seed)
    x_tr, y_tr, a_tr = sample(n, rng)
    x_te, y_te, a_te = sample(n, rng)
    ones_tr, ones_te = np.ones(n), np.ones(n)
    orig = _moments(x_tr[:, 0], y_tr, a_tr, ones_tr)
    out = {"original": score(x_tr, x_te, y_tr, y_te, a_tr, a_te, ones_tr, ones_te, orig)}
    for name, program in (("EF-Affirmative", "affirmative"), ("EF-All-subgroups", "all_subgroups")):
        st = GaussianSteering(program=program, reference=0, shrinkage=None).fit(x_tr, y_tr, sensitive_features=a_tr)
        out[name] = score(
            st.transform(x_tr, y_tr, sensitive_features=a_tr), st.transform(x_te, y_te, sensitive_features=a_te),
            y_tr, y_te, a_tr, a_te, st.sample_weights(y_tr, sensitive_features=a_tr),
            st.sample_weights(y_te, sensitive_features=a_te), orig,
        )
        out[name]["solver_kl"] = st.kl_
    for name, est in (("mean matching", MeanMatching(reference=0)),
                      ("MiMiC (mean+cov)", MeanCovarianceMatching(reference=0, shrinkage=None))):
        est.fit(x_tr, sensitive_features=a_tr)
        out[name] = score(est.transform(x_tr, sensitive_features=a_tr), est.transform(x_te, sensitive_features=a_te),
                          y_tr, y_te, a_tr, a_te, ones_tr, ones_te, orig)
    return out


if __name__ == "__main__":
    rows = run_experiment(n=200_000, seed=0)
    print(f"{'':<20}{'group-aware Bayes rule':^27}{'':9}{'group-blind Bayes rule':^27}")
    print(f"{'method':<20}{'error':>9}{'DP gap':>9}{'EO gap':>9}{'KL':>9}{'error':>9}{'DP gap':>9}{'EO gap':>9}")
    for name, r in rows.items():
        print(f"{name:<20}{r['error']:>9.4f}{r['dp_gap']:>9.4f}{r['eo_gap']:>9.4f}{r['kl']:>9.4f}"
              f"{r['blind_error']:>9.4f}{r['blind_dp_gap']:>9.4f}{r['blind_eo_gap']:>9.4f}")
