"""Synthetic univariate experiment: optimal steering as deployed, vs mean matching and MiMiC.

Two groups with Gaussian class-conditional features and different base rates. A
Gaussian Bayes classifier is fitted on transformed training rows and scored on
transformed test rows at the cost ``c = 0.5``: error, demographic-parity gap and
equal-opportunity (TPR) gap, for the group-aware rule ``h(x, a)`` of the theory and a
group-blind rule ``h(x)`` (class densities mixed over groups). Every method is scored
on the same test rows, weighted to equal base rates (``q(a)q(y)/q(y, a)``, the
population the steering targets; the TPR gap does not depend on these weights).

EF steering (``GaussianSteering``, affirmative or all-subgroups program) trains the
classifier on the steered, reweighted training rows; the test rows are moved as a
deployed model can move them (``fairfast.steering.deployment_views``): (b) by the
label-free mixture map, (c) by the soft map driven by the Gaussian posterior, or (a)
not at all (preprocessing). The oracle -- test rows moved with their *true* labels,
which a deployed model does not have -- is the steered distribution itself, where
the fairness guarantee holds; it comes last, as an evaluation reference.

Per-group bijections such as mean matching or MiMiC cannot change a group-aware
Bayes rule -- they only relabel ``x`` inside each group -- so they matter only for
group-blind classifiers. KL is the Gaussian KL of the transformed training
distribution from the original one.

Run: ``python examples/steering_synthetic.py`` (10 seeds of 200 000 training and
200 000 test rows; mean and 95% t-interval half-width over the seeds).
"""

import numpy as np

from fairfast.steering import (
    GaussianSteering,
    MeanCovarianceMatching,
    MeanMatching,
    deployment_views,
    gaussian_kl,
    reweighting_weights,
)

# group 0 (60%): base rate 0.5, classes N(0, 1) and N(2, 1)
# group 1 (40%): base rate 0.3, classes N(0.5, 1.5^2) and N(1.5, 1)
GROUP_SHARE = 0.6
BASE_RATE = (0.5, 0.3)
MEANS = ((0.0, 2.0), (0.5, 1.5))
SDS = ((1.0, 1.0), (1.5, 1.0))
MODES = (("label_free", "(b) label-free"), ("soft", "(c) soft"), ("preprocessing", "(a) preprocessing"))
PROGRAMS = (("EF-Affirmative", "affirmative"), ("EF-All-subgroups", "all_subgroups"))
METRICS = ("error", "dp_gap", "eo_gap", "kl", "blind_error", "blind_dp_gap", "blind_eo_gap")


def sample(n, rng):
    a = (rng.random(n) >= GROUP_SHARE).astype(int)
    y = (rng.random(n) < np.take(BASE_RATE, a)).astype(int)
    mu = np.asarray(MEANS)[a, y]
    sd = np.asarray(SDS)[a, y]
    return (mu + sd * rng.standard_normal(n))[:, None], y, a


def _moments(x, y, a, w):
    m, v, q = np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 2))
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


def score(x_tr, w_tr, x_te, y_tr, y_te, a_tr, a_te, w_te, orig):
    """Scores of a Gaussian Bayes classifier fitted on (x_tr, w_tr), applied to x_te."""
    x_tr, x_te = x_tr[:, 0], x_te[:, 0]
    m, v, q = _moments(x_tr, y_tr, a_tr, w_tr)
    err, dp, eo = _rates(_bayes_predict(m, v, q, x_te, a_te), y_te, a_te, w_te)
    b_err, b_dp, b_eo = _rates(_blind_predict(m, v, q, x_te), y_te, a_te, w_te)
    m0, v0, q0 = orig
    kl = float((q * np.log(q / q0)).sum())
    kl += sum(q[g, i] * gaussian_kl(m[g, i], v[g, i], m0[g, i], v0[g, i]) for g in range(2) for i in range(2))
    return dict(error=err, dp_gap=dp, eo_gap=eo, kl=kl, blind_error=b_err, blind_dp_gap=b_dp, blind_eo_gap=b_eo)


def run_experiment(n=20_000, seed=0):
    """Scores of every method and deployment mode on fresh train/test samples of size ``n``.

    Keys: the EF programs' deployment modes first (label-free, soft, preprocessing),
    then the baselines, then the oracles.
    """
    rng = np.random.default_rng(seed)
    x_tr, y_tr, a_tr = sample(n, rng)
    x_te, y_te, a_te = sample(n, rng)
    ones = np.ones(n)
    w_te = reweighting_weights(y_te, a_te, 2, 2)  # equal base rates, the same for every method
    orig = _moments(x_tr[:, 0], y_tr, a_tr, ones)
    out, oracles = {}, {}
    for name, program in PROGRAMS:
        st = GaussianSteering(program=program, reference=0, shrinkage=None).fit(x_tr, y_tr, sensitive_features=a_tr)
        views = deployment_views(st, x_tr, y_tr, x_te, sensitive_train=a_tr, sensitive_test=a_te, y_test=y_te)
        for mode, label in MODES + (("oracle", "oracle test labels (evaluation only)"),):
            v = views[mode]
            res = score(v.train, v.sample_weight, v.test, y_tr, y_te, a_tr, a_te, w_te, orig)
            res["solver_kl"] = st.kl_
            (oracles if mode == "oracle" else out)[f"{name} {label}"] = res
    out["original"] = score(x_tr, ones, x_te, y_tr, y_te, a_tr, a_te, w_te, orig)
    for name, est in (("mean matching", MeanMatching(reference=0)),
                      ("MiMiC (mean+cov)", MeanCovarianceMatching(reference=0, shrinkage=None))):
        est.fit(x_tr, sensitive_features=a_tr)
        out[name] = score(est.transform(x_tr, sensitive_features=a_tr), ones,
                          est.transform(x_te, sensitive_features=a_te), y_tr, y_te, a_tr, a_te, w_te, orig)
    out.update(oracles)
    return out


def run_seeds(n=200_000, seeds=10):
    """{method: {metric: (mean, 95% t-interval half-width)}} over independent seeds."""
    from scipy import stats

    runs = [run_experiment(n, seed) for seed in range(seeds)]
    t = stats.t.ppf(0.975, seeds - 1)
    return {name: {k: (float(np.mean([r[name][k] for r in runs])),
                       float(t * np.std([r[name][k] for r in runs], ddof=1) / np.sqrt(seeds))) for k in METRICS}
            for name in runs[0]}


def markdown(summary):
    head = ("| method | error (aware) | DP gap (aware) | EO gap (aware) | KL | error (blind) | DP gap (blind) "
            "| EO gap (blind) |")
    lines = [head, "| --- |" + " ---: |" * 7]
    for name, vals in summary.items():
        lines.append(f"| {name} | " + " | ".join(f"{vals[k][0]:.4f} ± {vals[k][1]:.4f}" for k in METRICS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run_seeds()))
