#!/usr/bin/python3
"""The peer of ionmap's microstructure fit: a straightforward SciPy implementation of the same
finite-volume model (grain labels, interface permeance kappa on faces between grains, half-cell
Dirichlet source on the left edge, BDF2 after one backward-Euler step, sparse LU factorised once
per parameter set) fitted with scipy.optimize.least_squares in log space from the same start
on the same data written by ionmap_bench_diffusion. Prints one row like the C++ bench."""
import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import least_squares

work = sys.argv[1]
meta = open(f"{work}/case.txt").read().split()
n = int(meta[0])
h, t_end, steps = float(meta[1]), float(meta[2]), int(meta[3])
D_true, k_true, fs_true, f_bg = map(float, meta[4:8])
D0, k0, fs0 = map(float, meta[8:11])
labels = np.fromfile(f"{work}/labels.i32", dtype=np.int32).reshape(n, n)
f_meas = np.fromfile(f"{work}/f.f64").reshape(n, n).ravel()
sigma = np.fromfile(f"{work}/sigma.f64").reshape(n, n).ravel()
idx = np.arange(n * n).reshape(n, n)


def forward(D, kappa, fs):
    bulk = D / h
    gb = 1.0 / (h / D + 1.0 / kappa)
    rows, cols, vals = [], [], []
    diag = np.zeros(n * n)
    for a, b, same in ((idx[:, :-1], idx[:, 1:], labels[:, :-1] == labels[:, 1:]),
                       (idx[:-1, :], idx[1:, :], labels[:-1, :] == labels[1:, :])):
        c = np.where(same, bulk, gb).ravel() / h
        a, b = a.ravel(), b.ravel()
        rows += [a, b]
        cols += [b, a]
        vals += [c, c]
        np.subtract.at(diag, a, c)
        np.subtract.at(diag, b, c)
    rhs_b = np.zeros(n * n)
    src = idx[:, 0]
    cs = (2 * D / h) / h
    diag[src] -= cs
    rhs_b[src] += cs * fs
    A = sp.csc_matrix((np.concatenate(vals + [diag]),
                       (np.concatenate(rows + [np.arange(n * n)]),
                        np.concatenate(cols + [np.arange(n * n)]))), shape=(n * n, n * n))
    I = sp.identity(n * n, format="csc")
    dt = t_end / steps
    f = np.full(n * n, f_bg)
    prev = f
    f = spla.splu((I - dt * A).tocsc()).solve(f + dt * rhs_b)
    lu = spla.splu((I - (2.0 / 3.0) * dt * A).tocsc())
    for _ in range(1, steps):
        nxt = lu.solve((4 * f - prev) / 3 + (2.0 / 3.0) * dt * rhs_b)
        prev, f = f, nxt
    return f


def residuals(x):
    return (forward(10 ** x[0], 10 ** x[1], x[2]) - f_meas) / sigma


t0 = time.perf_counter()
forward(D_true, k_true, fs_true)
t_forward = time.perf_counter() - t0
t0 = time.perf_counter()
r = least_squares(residuals, [np.log10(D0), np.log10(k0), fs0],
                  bounds=([-6, -8, 0], [6, 4, 1]), method="trf", x_scale=[1, 1, 0.1])
t_fit = time.perf_counter() - t0
evals = r.nfev + r.njev * 3 if r.njev is not None else r.nfev * 4
chi2 = 2 * r.cost / (n * n - 3)
print(f"{'A Bi~1  scipy 1 start':34s} {t_forward:10.4f} {t_fit:9.2f} {evals:6d} "
      f"{100 * (10 ** r.x[0] / D_true - 1):9.2f}% {100 * (10 ** r.x[1] / k_true - 1):9.2f}% "
      f"{r.x[2] - fs_true:8.4f} {chi2:7.3f} {'yes' if r.success else 'NO'}")
