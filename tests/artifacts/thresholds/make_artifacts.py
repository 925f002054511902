"""How the GroupThresholds model files in this folder were written (by the code at
commit b1593c8, before the module split and the new constraint algebra). Kept as a
record: rerunning it with newer code would overwrite the old-layout files that
tests/postprocessing/test_thresholds_artifacts.py must keep loading."""
import numpy as np, json
import fairfast
from fairfast.postprocessing import GroupThresholds
rng = np.random.default_rng(20240518)
n = 600
a = rng.integers(0, 3, n)
s = np.round(rng.uniform(size=n) * (1 + a) / 3, 2)
y = (rng.uniform(size=n) < s).astype(int)
sex = np.where(rng.uniform(size=n) < 0.5, "F", "M")
out = "tests/artifacts/thresholds"
cases = {
 "dp_int_groups": (dict(constraint="demographic_parity", random_state=3), a),
 "eo_tol_balanced": (dict(constraint="equal_opportunity", tolerance=0.05, objective="balanced_accuracy", random_state=4), a),
 "eqodds_mixture": (dict(constraint="equalized_odds", random_state=5), a),
 "pp_cost_intersections": (dict(constraint="predictive_parity", tolerance=0.1, objective="cost", cost_matrix=[[0, 1], [2, 0]], infeasible="warn", random_state=6), __import__("pandas").DataFrame({"grp": a, "sex": sex})),
}
ref = {}
for name, (params, sf) in cases.items():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = GroupThresholds(**params).fit(s, y, sensitive_features=sf)
    gt.save(f"{out}/{name}.ffm")
    ref[name] = {"proba": gt.predict_proba(s, sensitive_features=sf)[:, 1].tolist(),
                 "pred": gt.predict(s, sensitive_features=sf).tolist(),
                 "pred_seed9_offset100": gt.predict(s, sensitive_features=sf, random_state=9, row_offset=100).tolist()}
np.savez_compressed(f"{out}/inputs.npz", scores=s, labels=y, groups=a, sex=sex)
with open(f"{out}/expected.json", "w") as f:
    json.dump(ref, f)
print("ok")
