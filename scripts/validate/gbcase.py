#!/usr/bin/python3
"""Independent reference cases for ionmap's main job (grain-boundary diffusion from ToF-SIMS).

Written separately from ionmap's C++ model, with other numerics, so that fitting these data is
not an "inverse crime":

* Microstructure: Voronoi grains from Lloyd-relaxed seeds (mean equivalent diameter ~grain_um),
  in sample coordinates (µm). Boundaries are exact perpendicular bisectors of neighbouring seeds.
* Exchange: finite volumes on a grid `fine` times finer than the SIMS pixels over the SIMS field.
  A face between two grains carries the series conductance of two half cells and the boundary,
  whose permeance per unit of TRUE boundary length is κ: the face (length h) gets
  κ/(|n_x| + |n_y|) with n the exact normal of the bisector in the SIMS frame (the staircase
  then carries 0.56 % less boundary than the polygons on the 4× grid; `--pair-lengths exact`
  scales each grain pair's faces together so that they carry κ times the exact length of its
  Voronoi edge inside the field). Source on the
  left edge: Dirichlet (f_s) or Robin (flux k (f_s − f)). Time: Crank–Nicolson after four
  backward-Euler half steps (Rannacher start), one sparse LU (SciPy SuperLU).
* SIMS pixels: the fine field averaged over each pixel's footprint (optionally blurred by a
  Gaussian probe first).
* Counts: Li ions per pixel = mean_counts × per-grain yield × smooth yield × a dip over the
  boundaries; each of shots × scans primary shots gives a Poisson number of arrivals per isotope
  and the TDC records at most one per peak per shot. Each recorded count lands at a mass drawn
  from a Gaussian peak (resolving power) on a slightly wrong mass scale; H+ and Na+ peaks and a
  flat background are added. Written as imzML 1.1 (processed mode, float32 m/z, int32 counts).
* Laser image: the sample around the SIMS field at ~half its pixel size (±4 %), rotated and
  shifted; grooves along the boundaries, grain contrast, illumination, dust, noise ("easy" or
  "hard": shallow and variable grooves, ~15 % nearly invisible, 30 specks, more vignetting
  and noise). 16-bit TIFF with its pixel size.
* Truth: truth.json (parameters, transform, grain count), true_labels.tif (SIMS grid, the
  grain covering most of each pixel), true_labels_fine.tif (twice as fine: the grain at each
  cell's centre) and truth_f.tif (the pixel-averaged fraction).

Usage: gbcase.py OUTDIR --seed S [--pixels 256] [--source dirichlet|robin] [--difficulty easy|hard]
"""
import argparse
import json
import os
import uuid

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import ndimage
from scipy.spatial import Voronoi, cKDTree
import tifffile

LI6, LI7, H1, NA23 = 6.0151228 - 0.000549, 7.0160034 - 0.000549, 1.007276, 22.989221


def lloyd_seeds(rng, lo, hi, grain_um, iterations=6):
    """Seeds over the box [lo, hi]² whose Voronoi cells have ~grain_um equivalent diameter."""
    area = (hi - lo) ** 2
    n = max(4, int(round(area / (np.pi / 4 * grain_um ** 2))))
    seeds = rng.uniform(lo, hi, size=(n, 2))
    # Lloyd relaxation on a sampling grid of ~grain/8 spacing
    step = grain_um / 8
    g = np.arange(lo + step / 2, hi, step)
    gx, gy = np.meshgrid(g, g)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    for _ in range(iterations):
        _, idx = cKDTree(seeds).query(pts)
        cnt = np.bincount(idx, minlength=n)
        sx = np.bincount(idx, weights=pts[:, 0], minlength=n)
        sy = np.bincount(idx, weights=pts[:, 1], minlength=n)
        ok = cnt > 0
        seeds[ok, 0] = sx[ok] / cnt[ok]
        seeds[ok, 1] = sy[ok] / cnt[ok]
    return seeds


def rotation(theta_deg):
    t = np.radians(theta_deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def solve_exchange(labels, normal_x, normal_y, h, D, kappa, k, f_s, f_bg, t_end, steps):
    """Crank–Nicolson (Rannacher start) finite volumes. labels: (ny, nx) fine grid; normal_*:
    per-face boundary normals' |n_x| + |n_y| factors for x-faces (ny, nx-1) and y-faces
    (ny-1, nx), 0 where the face is inside a grain. Returns f at t_end per fine cell."""
    ny, nx = labels.shape
    N = nx * ny
    idx = np.arange(N).reshape(ny, nx)
    half = h / (2 * D)
    # x faces
    fac = normal_x
    g = np.where(fac > 0, 1.0 / (2 * half + fac / kappa), D / h) / h  # per cell area h²: flux·h/h²
    couple_list = [(idx[:, :-1].ravel(), idx[:, 1:].ravel(), g.ravel())]
    fac = normal_y
    g = np.where(fac > 0, 1.0 / (2 * half + fac / kappa), D / h) / h
    couple_list.append((idx[:-1, :].ravel(), idx[1:, :].ravel(), g.ravel()))
    rr, cc, vv = [], [], []
    for a, b, gg in couple_list:
        rr += [a, b, a, b]
        cc += [a, b, b, a]
        vv += [gg, gg, -gg, -gg]
    A = sp.csr_matrix((np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))),
                      shape=(N, N))
    # source on the left edge
    gs = (1.0 / (half + (1.0 / k if k > 0 else 0.0))) / h
    src = np.zeros(N)
    left = idx[:, 0]
    diag = np.zeros(N)
    diag[left] = gs
    src[left] = gs * f_s
    A = A + sp.diags(diag)
    # du/dt = -A u + src
    dt = t_end / steps
    Iden = sp.identity(N, format="csc")
    M = (Iden + 0.5 * dt * A).tocsc()
    lu = spla.splu(M, permc_spec="COLAMD")
    u = np.full(N, f_bg)
    # Rannacher: four backward-Euler steps of dt/2 (same matrix), then CN steps
    for _ in range(4):
        u = lu.solve(u + 0.5 * dt * src)
    Aexp = (Iden - 0.5 * dt * A).tocsr()
    for _ in range(steps - 2):
        u = lu.solve(Aexp @ u + dt * src)
    return u.reshape(ny, nx)


def laser_image(rng, seed, seeds, tree, nl, laser_um, hard, off_sample=None):
    """The laser-microscope image of the sample (nl × nl pixels of laser_um, sample
    coordinates): grooves along the boundaries, grain contrast, vignetting, dust specks and
    noise, 2 × 2 supersampled; 16-bit counts. Also returns the true grain (seed index) at each
    pixel centre. `off_sample` = (nx, ny, c): pixels with nx·x + ny·y > c (pixel units, centred)
    lie beyond the sample edge: dark, textureless, no grain (label −1)."""
    ss = 2
    cl = (np.arange(nl * ss) + 0.5) * (laser_um / ss)
    LX, LY = np.meshgrid(cl, cl)
    Q = np.column_stack([LX.ravel(), LY.ravel()])
    d2l, i2l = tree.query(Q, k=2)
    t1, t2 = seeds[i2l[:, 0]], seeds[i2l[:, 1]]
    distl = (d2l[:, 1] ** 2 - d2l[:, 0] ** 2) / (2 * np.linalg.norm(t2 - t1, axis=1))
    nseeds = len(seeds)
    # per-boundary groove depth (symmetric pair key)
    lo_i = np.minimum(i2l[:, 0], i2l[:, 1])
    hi_i = np.maximum(i2l[:, 0], i2l[:, 1])
    key = lo_i.astype(np.int64) * nseeds + hi_i
    hrng = np.random.default_rng(seed * 7919 + 13)
    if hard:
        ukey, inv = np.unique(key, return_inverse=True)
        depth_b = hrng.uniform(0.12, 0.45, len(ukey))
        depth_b[hrng.uniform(size=len(ukey)) < 0.15] = 0.03
        depth = depth_b[inv]
        groove_w = 0.06
    else:
        depth = 0.55
        groove_w = 0.08
    grain_b = 0.75 + 0.12 * rng.standard_normal(nseeds)
    img = grain_b[i2l[:, 0]] * (1 - depth * np.exp(-0.5 * (distl / groove_w) ** 2))
    img = img.reshape(nl * ss, nl * ss)
    if off_sample is not None:
        nx, ny, c0 = off_sample
        u = (np.arange(nl * ss) + 0.5) / ss - nl / 2
        beyond = nx * u[None, :] + ny * u[:, None] > c0
        img[beyond] = 0.08
    img = img.reshape(nl, ss, nl, ss).mean(axis=(1, 3))
    cx = (np.arange(nl) + 0.5) / nl - 0.5
    GX, GY = np.meshgrid(cx, cx)
    vig = 1 - (0.35 if hard else 0.15) * (GX ** 2 + GY ** 2) / 0.5 + 0.05 * GX
    img = img * vig
    nspecks = 30 if hard else 4
    for _ in range(nspecks):
        sx, sy = rng.uniform(0, nl, 2)
        r = rng.uniform(1.5, 5.0)
        img *= 1 - 0.7 * np.exp(-0.5 * ((np.arange(nl)[None, :] - sx) ** 2 +
                                        (np.arange(nl)[:, None] - sy) ** 2) / r ** 2)
    img += rng.normal(0, 0.04 if hard else 0.015, img.shape)
    img16 = np.clip(img * 40000, 0, 65535).astype(np.uint16)
    c1 = (np.arange(nl) + 0.5) * laser_um
    PX, PY = np.meshgrid(c1, c1)
    _, truth = tree.query(np.column_stack([PX.ravel(), PY.ravel()]))
    truth = truth.reshape(nl, nl)
    if off_sample is not None:
        u = (np.arange(nl) + 0.5) - nl / 2
        truth[nx * u[None, :] + ny * u[:, None] > c0] = -1
    return img16, truth


def bisector_factor(seeds, la, lb, R):
    """|n_x| + |n_y| of the boundary between seeds la, lb, its normal rotated into the SIMS
    frame (R takes SIMS to sample coordinates, so Rᵀ takes sample to SIMS)."""
    d = seeds[lb] - seeds[la]
    n = d / np.linalg.norm(d, axis=-1, keepdims=True)
    ns = n @ R  # rows: (Rᵀ n)ᵀ
    return np.abs(ns[..., 0]) + np.abs(ns[..., 1])


def clipped_length(p0, p1, size):
    """Length of the segment p0-p1 inside the square [0, size]² (Liang–Barsky)."""
    t0, t1 = 0.0, 1.0
    d = p1 - p0
    for pk, qk in ((-d[0], p0[0]), (d[0], size - p0[0]), (-d[1], p0[1]), (d[1], size - p0[1])):
        if pk == 0:
            if qk < 0:
                return 0.0
        else:
            r = qk / pk
            if pk < 0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
    return max(0.0, t1 - t0) * float(np.linalg.norm(d))


def exact_pair_lengths(lab, fx, fy, seeds, R, shift, size, h):
    """Scale each grain pair's face factors so that its faces together carry κ times the TRUE
    length of its Voronoi edge inside the field: the staircase's face count varies by about a
    cell per boundary with where its ends fall on the grid (and loses length where it meets
    the field's edge), so without this the data would carry slightly less boundary than the
    truth says (0.56 % on the 4× grid)."""
    ps = (seeds - shift) @ R  # seeds in SIMS coordinates
    vor = Voronoi(ps)
    true = {}
    for (i, j), rv in zip(vor.ridge_points, vor.ridge_vertices):
        if -1 in rv:
            continue
        length = clipped_length(vor.vertices[rv[0]], vor.vertices[rv[1]], size)
        if length > 0:
            true[(min(i, j), max(i, j))] = length
    faces = []  # (factor array, mask, labels a, labels b)
    for f, a, b in ((fx, lab[:, :-1], lab[:, 1:]), (fy, lab[:-1, :], lab[1:, :])):
        m = a != b
        faces.append((f, m, np.minimum(a[m], b[m]), np.maximum(a[m], b[m])))
    key_all = np.concatenate([lo * len(seeds) + hi for _, _, lo, hi in faces])
    cond_all = np.concatenate([h / f[m] for f, m, _, _ in faces])
    keys, inverse = np.unique(key_all, return_inverse=True)
    carried = np.bincount(inverse, weights=cond_all)
    want = np.array([true.get((int(k) // len(seeds), int(k) % len(seeds)), np.nan) for k in keys])
    scale = np.where(np.isfinite(want) & (want > 0), carried / np.where(want > 0, want, 1), 1.0)
    start = 0
    for f, m, _, _ in faces:
        count = int(m.sum())
        f[m] *= scale[inverse[start:start + count]]
        start += count
    return float(np.nansum(want)), float(carried.sum())


def binary_array(group, n, offset):
    """One external binaryDataArray of n 4-byte values at `offset` in the .ibd."""
    return (f'<binaryDataArray encodedLength="0"><referenceableParamGroupRef ref="{group}"/>'
            f'<cvParam cvRef="IMS" accession="IMS:1000103" name="external array length" '
            f'value="{n}"/><cvParam cvRef="IMS" accession="IMS:1000102" name="external offset" '
            f'value="{offset}"/><cvParam cvRef="IMS" accession="IMS:1000104" '
            f'name="external encoded length" value="{4 * n}"/><binary/></binaryDataArray>')


def array_group(group_id, array_param, type_param):
    """The referenceableParamGroup of one external, uncompressed binary array."""
    return (f'<referenceableParamGroup id="{group_id}">\n'
            '<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/>\n'
            f'<cvParam cvRef="MS" {array_param}/>\n'
            '<cvParam cvRef="IMS" accession="IMS:1000101" name="external data" value="true"/>\n'
            f'<cvParam {type_param}/>\n'
            '</referenceableParamGroup>')


def write_imzml(path, width, height, pixel_um, spectra, seed):
    """imzML 1.1 processed mode, uncompressed float32 m/z and int32 intensities."""
    base = os.path.splitext(path)[0]
    u = uuid.UUID(int=int(np.random.default_rng(seed + 7).integers(0, 2**63)) << 64 | 0x4000)
    body = []
    offset = 16
    with open(base + ".ibd", "wb") as ibd:
        ibd.write(u.bytes)
        i = 0
        for y in range(height):
            for x in range(width):
                mz, inten = spectra(x, y)
                mzb = np.asarray(mz, dtype="<f4").tobytes()
                inb = np.asarray(inten, dtype="<i4").tobytes()
                ibd.write(mzb)
                ibd.write(inb)
                n = len(mz)
                body.append(
                    f'<spectrum id="Scan={i + 1}" defaultArrayLength="0" index="{i}">'
                    '<referenceableParamGroupRef ref="spectrum1"/><scanList count="1">'
                    '<cvParam cvRef="MS" accession="MS:1000795" name="no combination"/><scan>'
                    f'<cvParam cvRef="IMS" accession="IMS:1000050" name="position x" value="{x + 1}"/>'
                    f'<cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="{y + 1}"/>'
                    '</scan></scanList><binaryDataArrayList count="2">'
                    + binary_array("mzArray", n, offset)
                    + binary_array("intensityArray", n, offset + 4 * n)
                    + '</binaryDataArrayList></spectrum>\n')
                offset += 8 * n
                i += 1
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1">
<cvList count="3">
<cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.0" URI="http://purl.obolibrary.org/obo/ms.obo"/>
<cv id="UO" fullName="Units of Measurement Ontology" version="2020-03-10" URI="http://purl.obolibrary.org/obo/uo.obo"/>
<cv id="IMS" fullName="Mass Spectrometry Imaging Ontology" version="1.1.0" URI="https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo"/>
</cvList>
<fileDescription><fileContent>
<cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum"/>
<cvParam cvRef="IMS" accession="IMS:1000080" name="universally unique identifier" value="{{{u}}}"/>
<cvParam cvRef="IMS" accession="IMS:1000031" name="processed"/>
</fileContent></fileDescription>
<referenceableParamGroupList count="3">
{array_group("mzArray", 'accession="MS:1000514" name="m/z array" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"', 'cvRef="MS" accession="MS:1000521" name="32-bit float"')}
{array_group("intensityArray", 'accession="MS:1000515" name="intensity array" unitCvRef="MS" unitAccession="MS:1000131" unitName="number of detector counts"', 'cvRef="IMS" accession="IMS:1000141" name="32-bit integer"')}
<referenceableParamGroup id="spectrum1">
<cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum"/>
<cvParam cvRef="MS" accession="MS:1000130" name="positive scan"/>
</referenceableParamGroup>
</referenceableParamGroupList>
<scanSettingsList count="1"><scanSettings id="scansettings1">
<cvParam cvRef="IMS" accession="IMS:1000042" name="max count of pixels x" value="{width}"/>
<cvParam cvRef="IMS" accession="IMS:1000043" name="max count of pixels y" value="{height}"/>
<cvParam cvRef="IMS" accession="IMS:1000046" name="pixel size (x)" value="{pixel_um}" unitCvRef="UO" unitAccession="UO:0000017" unitName="micrometer"/>
<cvParam cvRef="IMS" accession="IMS:1000047" name="pixel size y" value="{pixel_um}" unitCvRef="UO" unitAccession="UO:0000017" unitName="micrometer"/>
</scanSettings></scanSettingsList>
<run id="gbcase"><spectrumList count="{width * height}">
"""
    with open(path, "w") as f:
        f.write(head)
        f.writelines(body)
        f.write("</spectrumList></run>\n</mzML>\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--pixels", type=int, default=256, help="SIMS pixels a side")
    ap.add_argument("--pixel-um", type=float, default=0.2)
    ap.add_argument("--fine", type=int, default=4, help="diffusion grid cells per SIMS pixel a side")
    ap.add_argument("--grain-um", type=float, default=3.0)
    ap.add_argument("--D", type=float, default=2.6e-8, help="cm^2/s")
    ap.add_argument("--kappa", type=float, default=1.4e-6, help="cm/s")
    ap.add_argument("--k", type=float, default=1e-6, help="cm/s, Robin source only")
    ap.add_argument("--source", choices=["dirichlet", "robin"], default="dirichlet")
    ap.add_argument("--f-s", type=float, default=0.95)
    ap.add_argument("--f-bg", type=float, default=0.0759)
    ap.add_argument("--time", type=float, default=3600.0)
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--counts", type=float, default=2000.0, help="mean Li ions per pixel")
    ap.add_argument("--shots", type=int, default=4000, help="primary shots per pixel (all scans)")
    ap.add_argument("--probe-um", type=float, default=0.0, help="Gaussian probe sigma, µm")
    ap.add_argument("--difficulty", choices=["easy", "hard"], default="easy")
    ap.add_argument("--pair-lengths", choices=["staircase", "exact"], default="staircase",
                    help="staircase: kappa/(|n_x|+|n_y|) per face as drawn (the convention of "
                    "issue 12's cases; its faces carry 0.56 %% less boundary than the polygons "
                    "on the 4x grid); exact: each grain pair's faces scaled to carry kappa "
                    "times its true Voronoi edge length")
    ap.add_argument("--write-model-labels", action="store_true",
                    help="also write the generator's own cell labels (true_labels_model.tif)")
    ap.add_argument("--model-labels-only", action="store_true",
                    help="write only true_labels_model.tif (the same case's geometry: same seed "
                    "and options) and stop")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)

    n, hp, F = a.pixels, a.pixel_um, a.fine
    L = n * hp
    # Laser: ~hp/2 pixels (±4 %), 2.5 × n pixels, so the field is 1.25 L wide around the SIMS field
    laser_um = hp / 2 * (1 + rng.uniform(-0.04, 0.04))
    nl = int(round(2.5 * n))
    laser_field = nl * laser_um
    theta = rng.choice([-1, 1]) * rng.uniform(1.0, 5.0)
    R = rotation(theta)
    # the SIMS field's centre lands near the laser field's centre, shifted by up to 5 % of it
    c_s = np.array([L / 2, L / 2])
    c_l = np.array([laser_field / 2, laser_field / 2]) + rng.uniform(-0.05, 0.05, 2) * laser_field
    shift = c_l - R @ c_s  # sample (laser) coords = R p_sims + shift
    margin = 2 * a.grain_um
    seeds = lloyd_seeds(rng, -margin, laser_field + margin, a.grain_um)
    tree = cKDTree(seeds)

    # --- fine diffusion grid over the SIMS field (SIMS coordinates, µm)
    nf = n * F
    hf = hp / F
    c = (np.arange(nf) + 0.5) * hf
    X, Y = np.meshgrid(c, c)
    P = np.column_stack([X.ravel(), Y.ravel()]) @ R.T + shift
    _, lab = tree.query(P)
    lab = lab.reshape(nf, nf)
    if a.model_labels_only:
        tifffile.imwrite(os.path.join(a.out, "true_labels_model.tif"), (lab + 1).astype(np.int32),
                         resolution=(F * 1e4 / hp, F * 1e4 / hp), resolutionunit="CENTIMETER")
        return
    fx = np.zeros((nf, nf - 1))
    m = lab[:, :-1] != lab[:, 1:]
    fx[m] = bisector_factor(seeds, lab[:, :-1][m], lab[:, 1:][m], R)
    fy = np.zeros((nf - 1, nf))
    m = lab[:-1, :] != lab[1:, :]
    fy[m] = bisector_factor(seeds, lab[:-1, :][m], lab[1:, :][m], R)
    boundary_um = None
    if a.pair_lengths == "exact":
        boundary_um = exact_pair_lengths(lab, fx, fy, seeds, R, shift, L, hf)
    D_um, kappa_um = a.D * 1e8, a.kappa * 1e4
    k_um = a.k * 1e4 if a.source == "robin" else 0.0
    f_fine = solve_exchange(lab, fx, fy, hf, D_um, kappa_um, k_um, a.f_s, a.f_bg, a.time, a.steps)
    if a.probe_um > 0:
        f_fine = ndimage.gaussian_filter(f_fine, a.probe_um / hf, mode="nearest")
    f_pix = f_fine.reshape(n, F, n, F).mean(axis=(1, 3))

    # true labels on the SIMS grid: the grain covering most of each pixel
    blocks = lab.reshape(n, F, n, F).transpose(0, 2, 1, 3).reshape(n, n, F * F)
    true_labels = np.empty((n, n), dtype=np.int32)
    for yy in range(n):
        for xx in range(n):
            v, cnt = np.unique(blocks[yy, xx], return_counts=True)
            true_labels[yy, xx] = v[np.argmax(cnt)] + 1
    grains_in_field = len(np.unique(lab))
    # true labels on a grid twice as fine as the SIMS pixels (the laser's resolution): the
    # grain at each cell's centre
    F2 = 2
    c2 = (np.arange(n * F2) + 0.5) * (hp / F2)
    X2, Y2 = np.meshgrid(c2, c2)
    _, lab2 = tree.query(np.column_stack([X2.ravel(), Y2.ravel()]) @ R.T + shift)
    true_labels_fine = (lab2.reshape(n * F2, n * F2) + 1).astype(np.int32)

    # boundary distance at fine cells (for the yield dip): exact distance to the bisector
    d2, i2 = tree.query(P, k=2)
    s1, s2 = seeds[i2[:, 0]], seeds[i2[:, 1]]
    dist = (d2[:, 1] ** 2 - d2[:, 0] ** 2) / (2 * np.linalg.norm(s2 - s1, axis=1))
    dip = (1 - 0.35 * np.exp(-0.5 * (dist / 0.08) ** 2)).reshape(nf, nf)
    dip_pix = dip.reshape(n, F, n, F).mean(axis=(1, 3))
    grain_yield = 1 + 0.1 * rng.standard_normal(len(seeds))
    gy_fine = grain_yield[lab]
    gy_pix = gy_fine.reshape(n, F, n, F).mean(axis=(1, 3))
    px = (np.arange(n) + 0.5) * hp
    PX, PY = np.meshgrid(px, px)
    phase = rng.uniform(0, 2 * np.pi, 2)
    smooth = 1 + 0.12 * np.sin(2 * np.pi * PX / (0.6 * L) + phase[0]) * np.cos(
        2 * np.pi * PY / (0.8 * L) + phase[1])
    lam = a.counts * smooth * gy_pix * dip_pix
    # f averaged with the yield weights (ions come from where the yield is)
    w_fine = (gy_fine * dip)
    f_obs = (f_fine * w_fine).reshape(n, F, n, F).sum(axis=(1, 3)) / w_fine.reshape(
        n, F, n, F).sum(axis=(1, 3))
    lam6, lam7 = lam * f_obs, lam * (1 - f_obs)
    S = a.shots
    rec6 = rng.binomial(S, 1 - np.exp(-lam6 / S))
    rec7 = rng.binomial(S, 1 - np.exp(-lam7 / S))
    others = {H1: 300.0, NA23: 600.0}
    rec_o = {mz: rng.poisson(c * smooth * gy_pix * dip_pix) for mz, c in others.items()}

    # mass scale: sqrt(m_recorded) = (1 + e) sqrt(m) + o; channels of 2e-5 in sqrt(m)
    e_scale, e_off = rng.uniform(-2e-4, 2e-4), rng.uniform(-3e-4, 3e-4)
    R_mass = 3000.0
    q_ch = 2e-5

    def peak_channels(m):
        sig = m / R_mass / 2.3548
        mm = np.linspace(m - 5 * sig, m + 5 * sig, 2001)
        qq = (1 + e_scale) * np.sqrt(mm) + e_off
        wts = np.exp(-0.5 * ((mm - m) / sig) ** 2)
        ch = np.floor(qq / q_ch).astype(np.int64)
        uch = np.unique(ch)
        p = np.array([wts[ch == u].sum() for u in uch])
        return uch, p / p.sum()

    peaks = [(peak_channels(LI6), rec6), (peak_channels(LI7), rec7)] + [
        (peak_channels(mz), rec_o[mz]) for mz in others]
    bg_lo, bg_hi = int(np.sqrt(0.9) / q_ch), int(np.sqrt(23.5) / q_ch)

    def spectrum(x, y):
        chans, cnts = [], []
        for (uch, p), rec in peaks:
            c = rng.multinomial(int(rec[y, x]), p)
            keep = c > 0
            chans.append(uch[keep])
            cnts.append(c[keep])
        nb = 30
        bgc = rng.integers(bg_lo, bg_hi, nb)
        chans.append(bgc)
        cnts.append(np.ones(nb, dtype=np.int64))
        ch = np.concatenate(chans)
        ct = np.concatenate(cnts)
        order = np.argsort(ch, kind="stable")
        ch, ct = ch[order], ct[order]
        uch, inv = np.unique(ch, return_inverse=True)
        summed = np.bincount(inv, weights=ct).astype(np.int64)
        q = (uch + 0.5) * q_ch
        return q * q, summed

    write_imzml(os.path.join(a.out, "exchange.imzML"), n, n, hp, spectrum, a.seed)

    # --- laser image (sample coordinates), 2 × 2 supersampled
    img16, _ = laser_image(rng, a.seed, seeds, tree, nl, laser_um, a.difficulty == "hard")
    res = 1e4 / laser_um  # pixels per cm
    tifffile.imwrite(os.path.join(a.out, "laser.tif"), img16, resolution=(res, res),
                     resolutionunit="CENTIMETER")
    tifffile.imwrite(os.path.join(a.out, "true_labels.tif"), true_labels,
                     resolution=(1e4 / hp, 1e4 / hp), resolutionunit="CENTIMETER")
    if a.write_model_labels:  # the generator's own cells (fine × fine per pixel)
        tifffile.imwrite(os.path.join(a.out, "true_labels_model.tif"),
                         (lab + 1).astype(np.int32),
                         resolution=(F * 1e4 / hp, F * 1e4 / hp), resolutionunit="CENTIMETER")
    tifffile.imwrite(os.path.join(a.out, "true_labels_fine.tif"), true_labels_fine,
                     resolution=(2e4 / hp, 2e4 / hp), resolutionunit="CENTIMETER")
    tifffile.imwrite(os.path.join(a.out, "truth_f.tif"), f_pix.astype(np.float64),
                     resolution=(1e4 / hp, 1e4 / hp), resolutionunit="CENTIMETER")
    truth = {
        "generator": "scripts/validate/gbcase.py (independent of ionmap's C++ model)",
        "seed": a.seed, "pixels": n, "pixel_um": hp, "fine_cells_per_pixel": F,
        "D_bulk_cm2_s": a.D, "kappa_cm_s": a.kappa,
        "surface_exchange_cm_s": a.k if a.source == "robin" else 0.0,
        "source": a.source, "f_source": a.f_s, "f_background": a.f_bg, "time_s": a.time,
        "steps": a.steps, "mean_li_counts": a.counts, "shots_per_pixel_total": S,
        "probe_sigma_um": a.probe_um, "difficulty": a.difficulty,
        "grains_in_sims_field": int(grains_in_field), "grain_um": a.grain_um,
        "laser_pixel_um": laser_um, "laser_pixels": nl,
        "sims_to_laser": {"rotation_deg": float(theta), "shift_um": [float(shift[0]),
                                                                     float(shift[1])]},
        "mass_scale": {"scale_error": e_scale, "offset_error": e_off,
                       "resolving_power": R_mass},
        "biot": a.kappa * 1e4 * a.grain_um / (a.D * 1e8),
        "pair_lengths": a.pair_lengths,
        "boundary_length_um": None if boundary_um is None else round(boundary_um[0], 4),
        "staircase_boundary_length_um": None if boundary_um is None else round(boundary_um[1], 4),
    }
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)


if __name__ == "__main__":
    main()
