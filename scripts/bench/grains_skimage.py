#!/usr/bin/python3
"""The scikit-image peer of ionmap's segment-grains, for scripts/bench/grains-vs-skimage.sh.

Reads image.f32 + meta.json written by ionmap_bench_grains, segments with a standard
scikit-image pipeline (background removal, Sato ridge filter for dark ridges, Otsu threshold,
closing, eroded interiors as markers, watershed on the ridge response), writes labels.i32 and
prints the wall time and peak memory of the segmentation.
"""
import json
import resource
import sys
import time
import tracemalloc

import numpy as np
from skimage import filters, measure, morphology, segmentation


def segment(img, px, grain, groove):
    """Labels (int32) of a dark-groove image with pixel size px, grain size and groove width
    in µm."""
    img = (img - img.mean()) / img.std()
    img = img - filters.gaussian(img, sigma=2 * grain / px)
    g = groove / px
    ridge = filters.sato(img, sigmas=[max(0.5, 0.5 * g), g, 2 * g], black_ridges=True)
    boundary = ridge > filters.threshold_otsu(ridge)
    r = max(1, round(g))
    boundary = morphology.binary_closing(boundary, morphology.disk(r))
    inside = morphology.binary_erosion(~boundary, morphology.disk(r))
    markers = measure.label(inside, connectivity=1)
    expected = np.pi / 4 * grain * grain / (px * px)
    markers = morphology.remove_small_objects(markers, min_size=int(0.02 * expected))
    return segmentation.watershed(ridge, markers).astype(np.int32)


def main():
    work = sys.argv[1]
    meta = json.load(open(f"{work}/meta.json"))
    h, w = meta["height"], meta["width"]
    img = np.fromfile(f"{work}/image.f32", dtype=np.float32).reshape(h, w).astype(np.float64)
    tracemalloc.start()
    t0 = time.perf_counter()
    labels = segment(img, meta["pixel_um"], meta["grain_size_um"], meta["groove_width_um"])
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    labels.tofile(f"{work}/labels.i32")
    print(json.dumps({"seconds": elapsed, "peak_traced_mib": peak / 2**20,
                      "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
