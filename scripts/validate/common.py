"""Shared by the validation scripts: the repository's paths, seed lists, and the main job's
stages (so that every script measures exactly what pipelines/sims-gb-diffusion.yaml runs)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAIN_JOB = os.path.join(ROOT, "pipelines", "sims-gb-diffusion.yaml")


def seeds_of(text):
    """'1-5,8' -> [1, 2, 3, 4, 5, 8]"""
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main_job_stage(stage=None, stage_id=None):
    """The main job's first stage of that kind (or with that id), as a dict."""
    import yaml  # only the scripts that read the pipeline need python3-yaml

    with open(MAIN_JOB) as f:
        stages = yaml.safe_load(f)["stages"]
    for s in stages:
        if (stage is None or s["stage"] == stage) and (stage_id is None or s.get("id") == stage_id):
            return s
    raise SystemExit(f"{MAIN_JOB} has no stage {stage or ''} {stage_id or ''}")


def write_tiff(path, data, pixel_um):
    """A TIFF (one page per plane of a 3-D array) and its sidecar <path>.pixelsize.txt, as
    ionmap's readers take a pixel size for files without one."""
    import tifffile

    tifffile.imwrite(path, data, photometric="minisblack")
    with open(path + ".pixelsize.txt", "w") as f:
        f.write(f"{pixel_um} um\n")


def write_truth(out, truth):
    import json

    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    return truth
