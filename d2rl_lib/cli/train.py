"""``d2rl train``: train T_I alone, or a whole method (baseline ... d2rl).

    d2rl train --stage ti --config synthetic-classroom --out runs/ti
    d2rl train --config synthetic-classroom --set method=baseline --out runs/base

Writes ``config.json`` (resolved), ``log.txt``, ``checkpoints/`` and, for a
method, ``metrics.json`` into ``--out``; ``--resume`` continues from the last
checkpoint there.

Several processes (one per GPU, or gloo processes on the CPU), docs/training.md:

    torchrun --standalone --nproc_per_node 4 -m d2rl_lib train --config sysu \
        --set data.root=/data/SYSU-MM01 --set method=baseline --out runs/base

Every process runs this command; rank 0 creates the run folder and writes every file.
``--stage ti`` runs in one process only.
"""
from __future__ import annotations

from pathlib import Path

from .. import distributed
from ..runtime import RunDir
from .common import add_config_args, config_from_args


def register(sub) -> None:
    p = sub.add_parser("train", help="train T_I, T_F, a baseline or the joint D2RL model")
    add_config_args(p)
    p.add_argument("--stage", choices=("ti", "all"), default="all",
                   help="'ti': the image-level network T_I alone; 'all': the configured method "
                        "end to end (default)")
    p.add_argument("--out", default=None, help="run folder (default: runs/<time>-<method>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>/checkpoints/last.pt")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = config_from_args(args)
    name = "ti" if args.stage == "ti" else cfg.method
    if args.stage == "ti":
        from ..training.ti_stage import require_single_process

        require_single_process()                                     # before any file is written
    distributed.setup(cfg.runtime.device)                            # torchrun: join the group
    try:
        root = None
        if distributed.is_main():
            run_dir = RunDir.create(args.out, cfg.runtime.out_dir, name)
            cfg.save(run_dir.config)
            root = str(run_dir.root)
        run_dir = RunDir(Path(distributed.broadcast_object(root)))     # rank 0's folder everywhere
        if args.stage == "ti":
            from ..training.ti_stage import run_ti

            run_ti(cfg, run_dir, resume=args.resume)
        else:
            from ..training.run import run_method

            run_method(cfg, run_dir, resume=args.resume)
        if distributed.is_main():
            print(f"outputs: {run_dir.root}")
        distributed.finish()                                         # every rank done, then leave
    finally:
        distributed.cleanup()
    return 0
