"""One skill: equal treatment and equal outcomes conflict under cost discrimination.

Workers of group 1 face investment costs U[0, 2], group 0 costs U[0, 1] (group 1's costs
stochastically dominate); the employer sees unbiased signals N(1, 0.5^2) (qualified) and
N(-1, 1) (unqualified) and hires above a threshold. Under any shared (group-blind)
threshold the ex-post qualification rates satisfy pi_1 = pi_0 / 2, so ex-post base-rate
parity within eps forces pi_0 <= 2 eps: equal treatment and equal outcomes only meet when
hiring is shut down. Group-specific thresholds equalise outcomes, but only by treating
the groups differently (and, here, by lowering the advantaged group's rate).

Run:  python examples/performative_impossibility.py  (writes docs/images/performative_impossibility.png)
"""

from pathlib import Path

import numpy as np
from scipy import stats

from fairfast.performative import (
    BaseRateParity,
    ExPostReduction,
    GroupBlindThresholds,
    GroupSpecificThresholds,
    LaborMarket,
    ThresholdPolicy,
    evaluate_policy,
)

EPS = 0.02
OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "performative_impossibility.png"


def describe(name, market, policy, population=None):
    """One table row: qualification, hiring and TPR by group, and employer utility."""
    mixture = getattr(policy, "policies", None)
    policies, weights = (policy.policies, policy.weights) if mixture else ([policy], np.ones(1))
    out = market.outcome(policies, population)
    pi = weights @ out.base_rate
    dp = weights @ out.acceptance_rate
    tpr = weights @ out.true_positive_rate
    utility = -(weights @ out.risk)
    print(f"{name:<34} pi=({pi[0]:.3f}, {pi[1]:.3f})  hired=({dp[0]:.3f}, {dp[1]:.3f})  "
          f"TPR=({tpr[0]:.3f}, {tpr[1]:.3f})  utility={utility:.4f}")
    return pi


def main():
    market = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])
    grid = np.linspace(-2.5, 3.0, 221)
    curves = market.outcome([ThresholdPolicy([[t], [t]]) for t in grid]).base_rate
    assert np.allclose(curves[:, 1], curves[:, 0] / 2)

    parity = BaseRateParity(EPS)
    free = ExPostReduction(market, GroupSpecificThresholds(), BaseRateParity(10.0)).fit()
    blind = ExPostReduction(market, GroupBlindThresholds(), parity).fit()
    specific = ExPostReduction(market, GroupSpecificThresholds(), parity).fit()
    pure_eg = ExPostReduction(market, GroupSpecificThresholds(), parity, run_linprog_step=False).fit()

    print(f"ex-post base-rate parity, eps = {EPS}; closed-form evaluation\n")
    rows = {
        "unconstrained (performative opt.)": describe("unconstrained (performative opt.)", market,
                                                      free.deterministic_policy_),
        "group-blind, parity (mixture)": describe("group-blind, parity (mixture)", market, blind.mixture_),
        "group-blind, parity (determin.)": describe("group-blind, parity (determin.)", market,
                                                    blind.deterministic_policy_),
        "group-specific, parity (mixture)": describe("group-specific, parity (mixture)", market, specific.mixture_),
        "group-specific, parity (determin.)": describe("group-specific, parity (determin.)", market,
                                                       specific.deterministic_policy_),
    }
    print(f"\ngroup-blind deterministic policy: {blind.deterministic_policy_}")
    print(f"group-specific deterministic policy: {specific.deterministic_policy_}")
    print(f"EG iterations: blind {blind.last_iter_ + 1}, specific {specific.last_iter_ + 1}, "
          f"specific without LP step {pure_eg.last_iter_ + 1}; best gaps {blind.best_gap_:.2e}, "
          f"{specific.best_gap_:.2e}, {pure_eg.best_gap_:.2e}")
    print(f"EG-only mixture: gamma = {pure_eg.gamma_.round(4)}, utility = {-pure_eg.risk_:.4f}")

    population = market.sample(1_000_000, random_state=0)
    print("\nMonte-Carlo check on 1e6 sampled workers:")
    describe("group-specific, parity (determin.)", market, specific.deterministic_policy_, population)
    ev = evaluate_policy(market, specific.deterministic_policy_, parity, population)
    print(f"  max violation on the sample: {ev.violation:+.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(grid, curves[:, 0], label=r"$\pi_0$ (costs U[0,1])")
    ax.plot(grid, curves[:, 1], label=r"$\pi_1$ (costs U[0,2])")
    t_star = free.unconstrained_policy_.thresholds[:, 0]
    ax.axvline(t_star[0], color="grey", ls=":", lw=1)
    ax.set_xlabel("shared threshold t")
    ax.set_ylabel("ex-post qualification rate")
    ax.set_title(r"group-blind: $\pi_1 = \pi_0/2$ for every t")
    ax.legend()

    # Every bar is labelled with its value: the deterministic group-blind policy under
    # parity hires nobody (threshold +inf), so its bars have height 0 and would otherwise
    # leave an empty slot.
    ax = axes[1]
    names = list(rows)
    pis = np.array([rows[n] for n in names])
    x = np.arange(len(names))
    for k, (offset, label) in enumerate(((-0.2, "group 0"), (0.2, "group 1"))):
        bars = ax.bar(x + offset, pis[:, k], 0.4, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    labels = [n.replace(" (", "\n(").replace(", ", ",\n", 1) for n in names]
    blind_t = blind.deterministic_policy_.thresholds[0, 0]
    if np.isinf(blind_t):
        labels[names.index("group-blind, parity (determin.)")] += "\nhires nobody"
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("ex-post qualification rate")
    ax.set_ylim(0, pis.max() * 1.12)
    ax.set_title(f"policies learned under base-rate parity (eps={EPS})")
    ax.legend()

    ax = axes[2]
    for red, name, key, style in ((blind, "group-blind", "selected_gamma", "-o"),
                                  (specific, "group-specific", "selected_gamma", "-o"),
                                  (pure_eg, "group-specific, EG only", "gamma", "--")):
        g = red.history_[key][:, 0]
        ax.plot(np.arange(1, g.size + 1), g, style, ms=3, label=f"{name}")
    ax.axhspan(-EPS, EPS, color="green", alpha=0.15, label=r"$|\gamma| \leq \epsilon$")
    ax.set_xlabel("EG iteration t")
    ax.set_ylabel(r"$\pi_0 - \pi_1$ of the mixture $\hat Q_t$")
    ax.set_title("constraint trajectory")
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"\nfigure written to {OUT}")


if __name__ == "__main__":
    main()
