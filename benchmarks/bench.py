"""Speed, efficiency and memory, measured side by side (``make bench``).

    python benchmarks/bench.py                      # everything (about 10 min on 2 cores), results/bench.json
    python benchmarks/bench.py --quick --out /tmp/b.json    # tiny shapes, seconds (the test)
    python benchmarks/bench.py --only eval --only data      # some measurements, merged into the JSON
    python benchmarks/bench.py --profile joint_step         # torch.profiler table of the joint step

Every measurement returns ``(value, details)``; ``details`` says what was run: the
thread count, the shapes, the torch version and the command. :func:`run_bench`
gathers them into ``results/bench.json`` and a markdown table (the generated part of
``docs/benchmarks.md``). Not part of ``d2rl_lib``: it measures the library from outside.

- ``matmul``: the machine's fp32 matrix-multiply rate (``torch.mm`` of square
  matrices, best of several), at the thread count the steps use: the "peak".
- ``tf_step`` / ``joint_step``: FLOPs of one training step (forward + backward,
  counted by ``torch.utils.flop_counter.FlopCounterMode``) per measured second,
  over the peak. ``tf_step`` is one T_F step (``TFTrainer.step``); ``joint_step``
  the whole joint D2RL iteration (``JointStep``, paper Sec. 3.3: a D_v/D_i
  update and one backward pass through T_I's generators and T_F). At the classroom preset's shapes
  and (``*_paper``) at the ``sysu`` preset's (ResNet-50, 288 x 144, T_I with 64
  channels), there with a reduced batch, said in the details.
- ``data``: images per second of the input pipeline of the classroom run (PK
  sampler + gathering the images + augmentation), against what a T_F step consumes;
  also the world's rendering rate and reading a SYSU-layout folder from disk.
- ``eval``: the SYSU protocol at full size (3,803 queries x 301 gallery x 10 trials),
  ``eval_sysu``'s vectorised path against its readable per-query loop.
- ``notebooks``: read from the results files of ``make demo`` / a timed nbval run.
- ``rss``: peak resident memory of a short classroom-shaped training run in a
  child process (``os.wait4``'s rusage of that child).

The library's training and data modules are imported inside the measurements that use
them: ``rss`` runs first, while this process is still small (see
:func:`training_peak_rss`).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from d2rl_lib.config import Config, get_config

ROOT = Path(__file__).resolve().parents[1]

NAMES = ("matmul", "tf_step", "joint_step", "tf_step_paper", "joint_step_paper", "data", "eval",
         "notebooks", "rss")
EXTRA = ("nbval",)          # not in the default run: it executes every notebook


# -- helpers --------------------------------------------------------------------------
def environment(threads: int) -> dict:
    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "processor": platform.processor() or None,
            "cpu_count": os.cpu_count(), "threads": threads}


def _best_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> Tuple[float, List[float]]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def _finite(x: float, ndigits: int = 4) -> float:
    if not math.isfinite(x):
        raise RuntimeError(f"benchmark produced a non-finite number: {x}")
    return round(float(x), ndigits)


# -- peak -----------------------------------------------------------------------------
def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> Tuple[float, dict]:
    """Best fp32 ``torch.mm`` rate of two [n, n] matrices, GFLOP/s (2 n^3 per product)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    out = torch.empty(n, n)
    best, times = _best_time(lambda: torch.mm(a, b, out=out), repeats, warmup=2)
    gflops = 2 * n ** 3 / best / 1e9
    return _finite(gflops, 2), {"n": n, "repeats": repeats, "best_seconds": round(best, 5),
                                "what": f"torch.mm fp32 [{n}x{n}] @ [{n}x{n}], best of {repeats}"}


# -- training steps -------------------------------------------------------------------
def _batch(cfg: Config, in_channels: int = 3, seed: int = 0):
    """A re-ID batch shaped like the sampler's: P ids x (K visible + K infrared)."""
    P, K = cfg.schedule.batch_ids, cfg.schedule.batch_images
    g = torch.Generator().manual_seed(seed)
    n = P * 2 * K
    x = torch.rand(n, in_channels, cfg.data.height, cfg.data.width, generator=g) * 2 - 1
    labels = torch.arange(P).repeat_interleave(2 * K)
    modality = torch.tensor(([0] * K + [1] * K) * P)
    x[modality == 1] = x[modality == 1][:, :1].expand(-1, in_channels, -1, -1).clone()
    return x, labels, modality


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (forward and backward ops torch counts)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def _shapes(cfg: Config, batch_images: int) -> dict:
    return {"batch_images": batch_images, "P": cfg.schedule.batch_ids, "K": cfg.schedule.batch_images,
            "height": cfg.data.height, "width": cfg.data.width, "tf_arch": cfg.tf.arch,
            "last_stride": cfg.tf.last_stride, "ti_channels": cfg.ti.channels, "ti_n_down": cfg.ti.n_down,
            "ti_n_res": cfg.ti.n_res, "disc_scales": cfg.ti.disc_scales,
            "channels_last": cfg.runtime.channels_last, "tf_optimizer": cfg.optim.tf_optimizer}


def tf_step(cfg: Config, steps: int = 5) -> dict:
    """Seconds and FLOPs of one T_F training step (baseline, 3 channels) at ``cfg``'s shapes."""
    from d2rl_lib.training.tf import TFTrainer

    torch.manual_seed(0)
    x, labels, _ = _batch(cfg, 3)
    num_classes = max(cfg.data.train_ids, cfg.schedule.batch_ids)
    trainer = TFTrainer(cfg, num_classes, 3, torch.device("cpu"))
    if cfg.runtime.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    flops = count_flops(lambda: trainer.step(x, labels))                 # also the warm-up step
    best, times = _best_time(lambda: trainer.step(x, labels), steps, warmup=0)
    return {"flops": flops, "seconds": best, "times": [round(t, 4) for t in times],
            "images_per_second": len(x) / best, "shapes": _shapes(cfg, len(x))}


def joint_step_setup(cfg: Config):
    """(call, batch size): one joint D2RL iteration at ``cfg``'s shapes, ready to time."""
    from d2rl_lib.training.joint import JointStep
    from d2rl_lib.training.tf import TFTrainer
    from d2rl_lib.training.ti import TITrainer

    torch.manual_seed(0)
    raw, labels, modality = _batch(cfg, 3)
    num_classes = max(cfg.data.train_ids, cfg.schedule.batch_ids)
    ti = TITrainer(cfg, torch.device("cpu"))
    joint = JointStep(ti, TFTrainer(cfg, num_classes, 4, torch.device("cpu")))
    return (lambda: joint(raw, modality, labels)), len(raw)


def joint_step_measure(cfg: Config, steps: int = 3) -> dict:
    """Seconds and FLOPs of one joint D2RL iteration (T_I's D and G updates with T_F)."""
    call, n = joint_step_setup(cfg)
    flops = count_flops(call)                                            # also the warm-up step
    best, times = _best_time(call, steps, warmup=0)
    return {"flops": flops, "seconds": best, "times": [round(t, 4) for t in times],
            "images_per_second": n / best, "shapes": _shapes(cfg, n)}


def profile_joint_step(cfg: Config, steps: int = 3, rows: int = 25) -> str:
    """torch.profiler table of ``steps`` joint iterations (self CPU time, by op)."""
    from torch.profiler import ProfilerActivity, profile, record_function

    call, _ = joint_step_setup(cfg)
    call()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            with record_function("joint_step"):
                call()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def profile_step(cfg: Config, steps: int = 5, rows: int = 25) -> str:
    """torch.profiler table of ``steps`` T_F training steps (self CPU time, by op)."""
    from torch.profiler import ProfilerActivity, profile

    from d2rl_lib.training.tf import TFTrainer

    x, labels, _ = _batch(cfg, 3)
    trainer = TFTrainer(cfg, max(cfg.data.train_ids, cfg.schedule.batch_ids), 3, torch.device("cpu"))
    trainer.step(x, labels)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            trainer.step(x, labels)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def classroom_config(threads: int, quick: bool = False) -> Config:
    cfg = get_config("synthetic-ci" if quick else "synthetic-classroom",
                     [f"runtime.threads={threads}", "runtime.device=cpu"])
    if quick:
        cfg.schedule.batch_ids, cfg.schedule.batch_images = 2, 2
    return cfg


def paper_config(threads: int, quick: bool = False) -> Config:
    """The ``sysu`` preset's networks and image size, with a batch a CPU can time:
    P = 2 ids x (K = 2 + 2) = 8 images (the preset: 8 x (4 + 4) = 64). No pretrained
    weights are loaded (they change no speed)."""
    over = [f"runtime.threads={threads}", "runtime.device=cpu", "tf.pretrained=",
            "schedule.batch_ids=2", "schedule.batch_images=2"]
    if quick:                                   # keeps every key; shapes said in the details
        over += ["data.height=64", "data.width=32", "tf.arch=resnet18", "ti.channels=8",
                 "ti.disc_channels=8", "ti.n_res=1", "ti.disc_scales=1", "schedule.batch_images=1"]
    return get_config("sysu", over)


# -- data -----------------------------------------------------------------------------
def data_pipeline(cfg: Config, steps: int = 30) -> dict:
    """Images per second of the classroom input pipeline: PK sampler, gathering the
    in-memory images, scaling to [-1, 1] and the per-image augmentation (the
    ``run_method`` loop's path), plus the world's rendering rate (the one-off cost
    the disk cache saves)."""
    from d2rl_lib.data.augment import augment_batch, reid_augment
    from d2rl_lib.data.records import to_signed
    from d2rl_lib.data.samplers import CrossModalityPKSampler
    from d2rl_lib.data.synthetic import load_synthetic

    train = load_synthetic(cfg.data).train
    sampler = CrossModalityPKSampler(train.labels, train.modality, cfg.schedule.batch_ids,
                                     cfg.schedule.batch_images, 0)
    aug = reid_augment(cfg.data.height, cfg.data.width)
    n = sampler.P * 2 * sampler.K

    def pipeline():
        for step in range(steps):
            idx = sampler.batch(step)
            augment_batch(to_signed(train.images[torch.from_numpy(idx)]), aug)

    best, _ = _best_time(pipeline, 3)
    h, w = cfg.data.height, cfg.data.width
    render = world_render_speed(((h, w),), ids=5, repeats=2)[f"images_per_second_{h}x{w}"]
    return {"images_per_second": n * steps / best, "render_images_per_second": render,
            "batch_images": n, "height": cfg.data.height, "width": cfg.data.width}


def world_render_speed(sizes=((128, 64), (64, 32)), ids: int = 30, repeats: int = 3) -> dict:
    """Images per second the synthetic world renders at each (height, width), one core:
    the best of ``repeats`` passes over ``ids`` identities x 6 cameras x 4 images."""
    from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec

    out = {}
    for h, w in sizes:
        world = SyntheticWorld(WorldSpec(height=h, width=w))
        world.render(1, 1, 0)                                         # warm-up
        best = 0.0
        for rep in range(repeats):
            t0 = time.perf_counter()
            n = 0
            for pid in range(1, ids + 1):
                for cam in range(1, 7):
                    for i in range(4):
                        world.render(pid, cam, i + 4 * rep)
                        n += 1
            best = max(best, n / (time.perf_counter() - t0))
        out[f"images_per_second_{h}x{w}"] = round(best, 1)
    return out


def file_pipeline(height: int = 288, width: int = 144, workers: int = 0, batches: int = 6) -> dict:
    """Images per second read from a SYSU-MM01-layout folder (JPEG decode + resize to
    ``height x width``) through ``step_batches``, for a small synthetic export."""
    from d2rl_lib.data.export import export_sysu
    from d2rl_lib.data.files import step_batches
    from d2rl_lib.data.synthetic import load_synthetic
    from d2rl_lib.data.sysu import load_sysu

    data_cfg = get_config("synthetic-ci", ["data.train_ids=8", "data.test_ids=2",
                                           "data.images_per_camera=4", "data.height=128",
                                           "data.width=64"]).data
    with tempfile.TemporaryDirectory() as tmp:
        data = load_synthetic(data_cfg, cache_dir=Path(tmp) / "cache")
        root = export_sysu(data.train, data.test, Path(tmp) / "SYSU")
        train, _ = load_sysu(root)
        train.meta["size"] = (height, width)

        def batch_of(step):
            return np.random.default_rng([0, step]).choice(len(train), 64)

        t0 = time.perf_counter()
        n = sum(len(b) for _, _, b in step_batches(train, batch_of, 0, batches, workers))
        seconds = time.perf_counter() - t0
    return {"images_per_second": n / seconds, "height": height, "width": width, "workers": workers,
            "source": "128x64 JPEGs of a synthetic SYSU-MM01 export, resized on load"}


# -- evaluation -----------------------------------------------------------------------
def eval_speed(queries: int = 3803, gallery: int = 301, trials: int = 10, ids: int = 96,
               dim: int = 2048, dtype=np.float32) -> dict:
    """The SYSU protocol at full size: ``eval_sysu``'s vectorised path (``fast=True``,
    d2rl_lib/evaluation/metrics_fast.py) against its readable per-query loop (``fast=False``), on random
    features (cosine-like distances of ``dtype``, float32 or float64, computed in that
    dtype), same inputs for both. ``keys``: the dtype of the keys the vectorised path built
    (float32 or float64, metrics_fast.fast_values; None would mean it looped)."""
    from d2rl_lib.evaluation.metrics import eval_sysu
    from d2rl_lib.evaluation.metrics_fast import fast_values

    rng = np.random.default_rng(0)
    q_pids = rng.integers(0, ids, queries)
    q_cams = rng.choice([3, 6], queries)
    g_pids = np.repeat(np.arange(ids), 4)[:gallery] if ids * 4 >= gallery else rng.integers(0, ids, gallery)
    g_cams = np.tile([1, 2, 4, 5], gallery // 4 + 1)[:gallery]
    q_feat = rng.normal(size=(queries, dim)).astype(dtype)
    dists = [1 - q_feat @ rng.normal(size=(gallery, dim)).astype(dtype).T / dim for _ in range(trials)]
    keys = fast_values(dists[0])
    t_fast, _ = _best_time(lambda: [eval_sysu(d, q_pids, g_pids, q_cams, g_cams, fast=True) for d in dists], 3)
    fast = [eval_sysu(d, q_pids, g_pids, q_cams, g_cams, fast=True) for d in dists]
    t0 = time.perf_counter()
    slow = [eval_sysu(d, q_pids, g_pids, q_cams, g_cams, fast=False) for d in dists]
    t_loop = time.perf_counter() - t0
    diff = max(max(float(np.abs(a[0] - b[0]).max()), abs(a[1] - b[1]), abs(a[2] - b[2]))
               for a, b in zip(fast, slow))
    return {"queries": queries, "gallery": gallery, "trials": trials,
            "dtype": str(dists[0].dtype), "keys": None if keys is None else str(keys.dtype),
            "vectorised_seconds": t_fast, "loop_seconds": t_loop, "speedup": t_loop / t_fast,
            "max_abs_difference": diff, "timing": "vectorised: best of 3 runs of all trials; loop: one run"}


# -- notebooks, memory ----------------------------------------------------------------
def notebook_times(root: Path) -> Tuple[dict, dict]:
    """(values, notes) of notebooks_total_seconds and nbval_seconds, read from results files."""
    values: Dict[str, Optional[float]] = {"notebooks_total_seconds": None, "nbval_seconds": None}
    notes = {}
    demo = root / "results" / "demo-synthetic-classroom.json"
    if demo.is_file():
        d = json.loads(demo.read_text())
        if d.get("notebooks"):
            values["notebooks_total_seconds"] = d.get("total_seconds")
            notes["notebooks_total_seconds"] = {"source": str(demo.relative_to(root)),
                                                "command": d.get("command"), "notebooks": d["notebooks"]}
        else:
            notes["notebooks_total_seconds"] = {"note": f"{demo.relative_to(root)} records the CLI steps "
                                                "of make demo, not notebooks; run `make demo` again"}
    else:
        notes["notebooks_total_seconds"] = {"note": "no results/demo-synthetic-classroom.json: run `make demo`"}
    nbval = root / "results" / "nbval.json"
    if nbval.is_file():
        d = json.loads(nbval.read_text())
        values["nbval_seconds"] = d.get("seconds")
        notes["nbval_seconds"] = {"source": str(nbval.relative_to(root)), "command": d.get("command")}
    else:
        notes["nbval_seconds"] = {"note": "no results/nbval.json: run `python benchmarks/bench.py --only "
                                          "nbval` (times `make nbval`'s pytest command)"}
    return values, notes


def nbval_command(root: Path) -> Tuple[List[str], List[str], Dict[str, str]]:
    """``make nbval``'s pytest command for the numbered notebooks of ``root``: (command, the
    notebooks, its environment: the CI profile)."""
    nbs = sorted(str(p.relative_to(root)) for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
           "--nbval-cell-timeout=600", "-p", "no:cacheprovider", "-q", *nbs]
    return cmd, nbs, dict(os.environ, D2RL_PRESET="synthetic-ci", MPLBACKEND="Agg")


def time_nbval(root: Path) -> dict:
    """Run the notebooks under nbval in the CI profile (as ``make nbval``), timed."""
    cmd, nbs, env = nbval_command(root)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    out = {"command": "D2RL_PRESET=synthetic-ci " + " ".join(["python"] + cmd[1:]), "seconds": round(seconds, 1),
           "notebooks": nbs, "passed": proc.returncode == 0, "tail": proc.stdout.strip().splitlines()[-3:]}
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "nbval.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


def training_peak_rss(threads: int, quick: bool = False) -> dict:
    """Peak resident memory (MB) of a short classroom-shaped ``d2rl train`` (method
    d2rl, every stage: T_I warm-up, T_F, joint steps, scoring) in a child process."""
    preset = "synthetic-ci" if quick else "synthetic-classroom"
    steps = ["schedule.ti_steps=3", "schedule.tf_steps=3", "schedule.joint_steps=2"] if quick else \
        ["schedule.ti_steps=20", "schedule.tf_steps=20", "schedule.joint_steps=10"]
    with tempfile.TemporaryDirectory() as tmp:
        args = ["-m", "d2rl_lib", "train", "--config", preset, "--out", str(Path(tmp) / "run"),
                "--set", "method=d2rl", "--set", f"runtime.threads={threads}", "--set", "runtime.device=cpu",
                "--set", "schedule.sample_every=0", "--set", "schedule.checkpoint_every=0"]
        for s in steps:
            args += ["--set", s]
        own_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        with open(Path(tmp) / "stderr.txt", "w+") as err:
            proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)                  # this child's own rusage
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - t0
            if proc.returncode:
                err.seek(0)
                raise RuntimeError(f"the training for peak_rss_mb failed: {err.read()[-2000:]}")
    # Linux carries the parent's high-water RSS into a forked child's ru_maxrss, so this is
    # measured first in a run, while this process is small (own_maxrss_mb says how small).
    return {"peak_rss_mb": usage.ru_maxrss / 1024, "own_maxrss_mb_at_spawn": own_kb / 1024,
            "training_command": "python " + " ".join(args).replace(tmp, "TMP"),
            "seconds": seconds, "preset": preset}


# -- the whole run ----------------------------------------------------------------------
@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run_bench(root: Path, only: Optional[List[str]] = None, quick: bool = False, threads: int = 1,
              command: str = "python benchmarks/bench.py", log: Callable[[str], None] = print) -> dict:
    """Run the measurements ``only`` (default: all but nbval) and return the results dict
    (top-level numbers plus ``details`` per number)."""
    names = list(only or NAMES)
    res: dict = {"command": command, "quick": quick, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                 "environment": environment(threads), "details": {}}
    det = res["details"]
    base = {"threads": threads, "torch": torch.__version__, "command": command}
    torch.manual_seed(0)
    with _threads(threads):
        if "rss" in names:                              # first: see training_peak_rss
            log("peak RSS of a classroom training run ...")
            r = training_peak_rss(threads, quick)
            res["peak_rss_mb"] = _finite(r["peak_rss_mb"], 1)
            det["peak_rss_mb"] = {**base, **r, "what": "max RSS of the child process running "
                                  "training_command (os.wait4 rusage ru_maxrss)"}
        need_peak = any(n in names for n in ("matmul", "tf_step", "joint_step", "tf_step_paper",
                                               "joint_step_paper"))
        n_mm, reps_mm = (512, 3) if quick else (2048, 5)
        if need_peak:
            log("matmul peak ...")
            peak_before, d = matmul_peak_gflops(n_mm, reps_mm)
        steps_done = {}
        for name, key, cfg_fn, fn, steps in (
                ("tf_step", "tf_step_fraction_of_peak", classroom_config, tf_step, 2 if quick else 8),
                ("joint_step", "joint_step_fraction_of_peak", classroom_config, joint_step_measure,
                 2 if quick else 4),
                ("tf_step_paper", "tf_step_fraction_of_peak_paper", paper_config, tf_step, 2 if quick else 3),
                ("joint_step_paper", "joint_step_fraction_of_peak_paper", paper_config, joint_step_measure,
                 1 if quick else 1)):
            if name in names:
                log(f"{name} ...")
                cfg = cfg_fn(threads, quick)
                steps_done[name] = (key, cfg, fn(cfg, steps), steps)
        if need_peak:                                   # the peak again: the machine's load varies
            peak_after, _ = matmul_peak_gflops(n_mm, reps_mm)
            res["matmul_peak_gflops"] = max(peak_before, peak_after)
            det["matmul_peak_gflops"] = {**base, **d, "measured": [peak_before, peak_after],
                                         "value": "the larger of two measurements, before and after the steps"}
        for name, (key, cfg, m, steps) in steps_done.items():
            gflops = m["flops"] / m["seconds"] / 1e9
            res[key] = _finite(gflops / res["matmul_peak_gflops"])
            res[f"{name}_seconds"] = _finite(m["seconds"])
            det[key] = {**base, "preset": cfg.preset, "shapes": m["shapes"], "gflop_per_step": m["flops"] / 1e9,
                        "seconds_per_step": m["seconds"], "times": m["times"], "gflops": gflops,
                        "steps_timed": steps, "timing": "best of the timed steps, after one warm-up step "
                                                        "(the one whose FLOPs were counted)",
                        "flops": "torch.utils.flop_counter.FlopCounterMode over one whole step "
                                 "(forward + backward; optimiser updates count no FLOPs)"}
            if name == "tf_step":
                res["train_images_per_second"] = _finite(m["images_per_second"], 1)
        if "data" in names:
            log("data pipeline ...")
            cfg = classroom_config(threads, quick)
            d = data_pipeline(cfg, 10 if quick else 30)
            res["data_images_per_second"] = _finite(d["images_per_second"], 1)
            res["render_images_per_second"] = _finite(d["render_images_per_second"], 1)
            f = file_pipeline(64 if quick else 288, 32 if quick else 144, 0, 2 if quick else 6)
            res["file_images_per_second"] = _finite(f["images_per_second"], 1)
            det["data_images_per_second"] = {**base, **d, "preset": cfg.preset, "what": "PK sampler + gather "
                                             "in-memory uint8 images + to [-1, 1] + flip/pad-crop/erasing "
                                             "per image (torchvision v2), the classroom training loop's input"}
            det["file_images_per_second"] = {**base, **f, "what": "JPEG decode (PIL) + resize "
                                             "(torchvision) through data.files.step_batches"}
            if "train_images_per_second" not in res:
                m = tf_step(cfg, 2 if quick else 5)
                res["train_images_per_second"] = _finite(m["images_per_second"], 1)
            det["train_images_per_second"] = {**base, "what": "images one classroom T_F step consumes per "
                                              "second (batch / step time, from tf_step)"}
        if "eval" in names:
            log("eval ...")
            e = eval_speed(queries=600 if quick else 3803, trials=2 if quick else 10)
            res["eval_speedup_vs_loop"] = _finite(e["speedup"], 1)
            det["eval_speedup_vs_loop"] = {**base, **e}
        if "notebooks" in names or "nbval" in names:
            if "nbval" in names:
                log("nbval (CI profile) ...")
                time_nbval(root)
            values, notes = notebook_times(root)
            res.update(values)
            det.update(notes)
    return res


ROWS = (
    ("matmul_peak_gflops", "fp32 matmul peak (GFLOP/s)", None),
    ("tf_step_fraction_of_peak", "T_F step, classroom shapes: fraction of peak", "≥ 0.50"),
    ("joint_step_fraction_of_peak", "joint D2RL step, classroom shapes: fraction of peak", "≥ 0.35"),
    ("tf_step_fraction_of_peak_paper", "T_F step, paper shapes (ResNet-50, 288×144, batch 8 not 64): "
                                       "fraction of peak", None),
    ("joint_step_fraction_of_peak_paper", "joint step, paper shapes (batch 8 not 64): fraction of peak", None),
    ("tf_step_seconds", "T_F step, classroom (s)", None),
    ("joint_step_seconds", "joint step, classroom (s)", None),
    ("data_images_per_second", "input pipeline, classroom (images/s)", "> T_F consumption"),
    ("train_images_per_second", "T_F step consumption, classroom (images/s)", None),
    ("render_images_per_second", "world rendering (images/s)", None),
    ("file_images_per_second", "reading JPEGs at 288×144, one process (images/s)", None),
    ("eval_speedup_vs_loop", "SYSU protocol at full size, vectorised vs loop (×)", "≥ 10"),
    ("notebooks_total_seconds", "classroom notebooks (s)", "≤ 900"),
    ("nbval_seconds", "nbval, CI profile (s)", None),
    ("peak_rss_mb", "peak memory of a classroom training run (MB)", "< 4096"),
)


def markdown_table(res: dict) -> str:
    env = res.get("environment", {})
    lines = [f"Measured by `{res.get('command')}` on {res.get('date_utc')} UTC: torch {env.get('torch')}, "
             f"{env.get('threads')} thread(s), {env.get('cpu_count')} CPUs ({env.get('machine')})."
             + "".join(f" Updated by `{u}`." for u in res.get("updated_by", [])), "",
             "| measure | value | target |", "|---|---|---|"]
    for key, label, target in ROWS:
        if key not in res:
            continue
        v = res[key]
        val = "not measured (see details)" if v is None else (f"{v:,.3g}" if isinstance(v, float) and v < 10
                                                                else f"{v:,.1f}" if isinstance(v, float) else str(v))
        lines.append(f"| {label} | {val} | {target or ''} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- bench:begin (written by benchmarks/bench.py) -->", "<!-- bench:end -->"


def write_markdown(path: Path, table: str) -> None:
    """Put ``table`` between the markers of ``path`` (created if missing), keeping the rest."""
    block = f"{BEGIN}\n{table}{END}\n"
    text = path.read_text() if path.is_file() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)



# -- the command line (make bench) ---------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="benchmarks/bench.py",
                                description="measure speed and memory, write results/bench.json")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help=f"run only this measurement (repeatable): {', '.join(NAMES + EXTRA)}; "
                        f"results are merged into the existing JSON")
    p.add_argument("--quick", action="store_true",
                   help="tiny shapes and few repeats (seconds; for tests, numbers not meaningful)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for every measurement (default 1: the machine is shared)")
    p.add_argument("--out", default=None,
                   help="JSON file (default results/bench.json; --quick: results/bench-quick.json)")
    p.add_argument("--markdown", default=None,
                   help="also write the table here (default docs/benchmarks.md's generated part, "
                        "not in --quick mode)")
    p.add_argument("--profile", choices=("joint_step", "tf_step"), default=None,
                   help="print a torch.profiler table of this step at classroom shapes and stop")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """``make bench``: run the measurements, write the JSON and the markdown table. A
    usage mistake is one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    names = list(dict.fromkeys(args.only))
    bad = [n for n in names if n not in NAMES + EXTRA]
    if bad:
        print(f"bench.py: error: --only {', '.join(bad)}: unknown; valid names: "
              f"{', '.join(NAMES + EXTRA)}", file=sys.stderr)
        return 2
    if args.threads < 1:
        print(f"bench.py: error: --threads {args.threads}: give 1 or more", file=sys.stderr)
        return 2
    command = ("python benchmarks/bench.py" + "".join(f" --only {n}" for n in names)
               + (" --quick" if args.quick else "") + (f" --threads {args.threads}" if args.threads != 1 else ""))
    if args.profile:
        torch.set_num_threads(args.threads)
        cfg = classroom_config(args.threads, args.quick)
        print(profile_joint_step(cfg) if args.profile == "joint_step" else profile_step(cfg))
        return 0
    out = Path(args.out) if args.out else ROOT / "results" / ("bench-quick.json" if args.quick else "bench.json")
    res = run_bench(ROOT, names or None, args.quick, args.threads, command,
                    log=lambda s: print(s, file=sys.stderr, flush=True))
    if names and out.is_file():                                     # merge into the last full run
        old = json.loads(out.read_text())
        old_details = old.get("details", {})
        old.update({k: v for k, v in res.items() if k not in ("details", "command", "date_utc")})
        old_details.update(res["details"])
        old["details"] = old_details
        old.setdefault("updated_by", []).append(f"{command} ({res['date_utc']} UTC)")
        res = old
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    table = markdown_table(res)
    md = args.markdown or (None if args.quick else str(ROOT / "docs" / "benchmarks.md"))
    if md:
        write_markdown(Path(md), table)
    print(table)
    print(f"wrote {out}" + (f" and {md}" if md else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
