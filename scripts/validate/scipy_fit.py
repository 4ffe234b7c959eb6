#!/usr/bin/python3
"""The peer of ionmap's main fit on an independent case: a plain SciPy fit of the same physics
to the same data, for the speed comparison (scripts/validate/speed.sh).

Same physics: finite volumes on the labels twice as fine as the SIMS pixels (the case's
true_labels_fine.tif), cells of one grain coupled by D_bulk, faces between grains by the series
conductance of two half cells and the boundary, whose permeance per unit of true length is κ
(a face passes κ|n·e|, n the boundary's normal: here the principal axis of all faces between
the same two grains, exact for straight boundaries); Dirichlet source on the left edge; BDF2
after one backward-Euler step, sparse LU once per parameter set; each SIMS pixel the mean of
its 2 × 2 cells. Fitted with scipy.optimize.least_squares (trust-region reflective, 2-point
finite-difference Jacobian) in log10 D, log10 κ and f_s from the same start as ionmap;
standard errors from (JᵀJ)⁻¹ at the end. The measured f and σ_f come from ionmap's results.h5
of the same case (the ToF-SIMS stages are not the subject here).

  scipy_fit.py CASE_DIR RESULTS_H5 [--steps 40]   → one JSON line: estimates, errors, seconds
"""
import argparse
import json
import time

import h5py
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import least_squares
import tifffile


def pair_normals(lab):
    """|n_x|, |n_y| per grain pair from the principal axis of the midpoints of its faces."""
    ny_, nx_ = lab.shape
    ys, xs = np.mgrid[0:ny_, 0:nx_]
    mids, keys = [], []
    for a, b, mx, my in ((lab[:, :-1], lab[:, 1:], xs[:, :-1] + 0.5, ys[:, :-1]),
                         (lab[:-1, :], lab[1:, :], xs[:-1, :], ys[:-1, :] + 0.5)):
        m = a != b
        lo, hi = np.minimum(a[m], b[m]), np.maximum(a[m], b[m])
        keys.append(lo.astype(np.int64) * (lab.max() + 1) + hi)
        mids.append(np.column_stack([mx[m], my[m]]))
    key = np.concatenate(keys)
    pts = np.concatenate(mids)
    uk, inv = np.unique(key, return_inverse=True)
    cnt = np.bincount(inv)
    sx, sy = np.bincount(inv, pts[:, 0]) / cnt, np.bincount(inv, pts[:, 1]) / cnt
    dx, dy = pts[:, 0] - sx[inv], pts[:, 1] - sy[inv]
    cxx, cyy, cxy = (np.bincount(inv, dx * dx) / cnt, np.bincount(inv, dy * dy) / cnt,
                     np.bincount(inv, dx * dy) / cnt)
    t = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
    return dict(zip(uk.tolist(), zip(np.abs(np.sin(t)), np.abs(np.cos(t))))), lab.max() + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("results")
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    truth = json.load(open(f"{a.case}/truth.json"))
    lab = tifffile.imread(f"{a.case}/true_labels_fine.tif").astype(np.int64)
    with h5py.File(a.results) as f:
        fm = f["entry/f/data"][()]
        sg = f["entry/sigma_f/data"][()]
    n = fm.shape[0]
    s = lab.shape[0] // n
    h = truth["pixel_um"] / s
    t_end, steps, f_bg = truth["time_s"], a.steps, truth["f_background"]
    t0 = time.time()
    normals, base = pair_normals(lab)
    N = lab.size
    idx = np.arange(N).reshape(lab.shape)
    faces = []
    for A, B, horizontal in ((idx[:, :-1], idx[:, 1:], True), (idx[:-1, :], idx[1:, :], False)):
        la, lb = lab.ravel()[A.ravel()], lab.ravel()[B.ravel()]
        boundary = la != lb
        factor = np.ones(la.size)
        k = np.minimum(la, lb)[boundary] * base + np.maximum(la, lb)[boundary]
        nn = np.array([normals[int(q)] for q in k]) if k.size else np.zeros((0, 2))
        factor[boundary] = nn[:, 0] if horizontal else nn[:, 1]
        faces.append((A.ravel(), B.ravel(), boundary, factor))
    left = idx[:, 0]
    ok = np.isfinite(fm) & (sg > 0)
    w = 1 / sg[ok]

    def forward(D, kappa):
        rows, cols, vals = [], [], []
        diag = np.zeros(N)
        for A, B, boundary, factor in faces:
            g = np.where(boundary, 1 / (h / D + 1 / np.maximum(kappa * factor, 1e-300)), D / h) / h
            rows += [A, B]
            cols += [B, A]
            vals += [g, g]
            np.add.at(diag, A, g)
            np.add.at(diag, B, g)
        gs = 2 * D / h / h
        diag[left] += gs
        L = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(N, N))
        L = sp.diags(diag) - L  # du/dt = -L u + b
        b = np.zeros(N)
        b[left] = gs  # for a unit source (u = normalised fraction)
        dt = t_end / steps
        I = sp.identity(N, format="csc")
        lu1 = spla.splu((I + dt * L).tocsc())
        lu2 = spla.splu((I + 2 / 3 * dt * L).tocsc())
        u0 = np.zeros(N)
        u1 = lu1.solve(u0 + dt * b)
        for _ in range(steps - 1):
            u0, u1 = u1, lu2.solve(4 / 3 * u1 - 1 / 3 * u0 + 2 / 3 * dt * b)
        return u1.reshape(lab.shape).reshape(n, s, n, s).mean(axis=(1, 3))

    runs = [0]

    def residual(x):
        runs[0] += 1
        u = forward(10 ** x[0], 10 ** x[1])
        model = f_bg + (x[2] - f_bg) * u
        return (model[ok] - fm[ok]) * w

    x0 = np.array([np.log10(1e-8 * 1e8), np.log10(1e-6 * 1e4), 0.8])
    r = least_squares(residual, x0, jac="2-point", method="trf",
                      bounds=([-6, -8, 0], [3, 4, 1]), x_scale=[1, 1, 0.1])
    J = r.jac
    dof = max(1, ok.sum() - 3)
    cov = np.linalg.pinv(J.T @ J)
    se = np.sqrt(np.diag(cov))
    seconds = time.time() - t0
    D, kappa = 10 ** r.x[0] / 1e8, 10 ** r.x[1] / 1e4
    print(json.dumps({
        "D_bulk": D, "se_D_bulk": D * np.log(10) * se[0],
        "kappa": kappa, "se_kappa": kappa * np.log(10) * se[1],
        "f_source": r.x[2], "se_f_source": se[2],
        "reduced_chi2": float(2 * r.cost / dof), "model_runs": runs[0], "seconds": seconds,
        "status": int(r.status)}))


if __name__ == "__main__":
    main()
