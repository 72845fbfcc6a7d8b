"""``d2rl data summary`` and ``d2rl data split``: dataset statistics and protocol splits."""
from __future__ import annotations

import json

from ..errors import UserError
from .common import add_config_args, config_from_args


def register(g) -> None:
    """Add the protocol subcommands to the ``data`` group ``g``."""
    p = g.add_parser("summary", help="counts of a dataset's splits (check a folder before training)")
    p.add_argument("--dataset", choices=("synthetic", "sysu", "regdb"), default="synthetic")
    p.add_argument("--root", default=None, help="dataset folder (real datasets)")
    p.add_argument("--trial", type=int, default=1, help="RegDB: which of the 10 splits (1..10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_args(p)
    p.set_defaults(func=summary)

    s = g.add_parser("split", help="print the image paths a SYSU-MM01 protocol trial uses")
    s.add_argument("--dataset", choices=("sysu",), default="sysu")
    s.add_argument("--root", required=True, help="the SYSU-MM01 folder")
    s.add_argument("--mode", choices=("all", "indoor"), default="all")
    s.add_argument("--shots", type=int, choices=(1, 10), default=1)
    s.add_argument("--trial", type=int, default=1, help="trial 1..10 (seeded: random.seed(trial - 1))")
    s.add_argument("--sampler", choices=("official", "seeded"), default="seeded")
    s.add_argument("--part", choices=("query", "gallery"), default="gallery")
    s.set_defaults(func=split)


def _load(args):
    from ..data.summary import sysu_summary

    if args.dataset == "synthetic":
        from ..data.synthetic import load_synthetic

        data = load_synthetic(config_from_args(args).data)
        return sysu_summary(data.train, data.test), "synthetic world"
    if not args.root:
        raise UserError(f"--root is required for --dataset {args.dataset} (the dataset's folder)")
    if args.dataset == "regdb":
        from ..data.regdb import load_regdb, regdb_summary

        train, test = load_regdb(args.root, args.trial)
        return regdb_summary(train, test), f"RegDB at {args.root}, trial {args.trial}"
    from ..data.sysu import load_sysu

    train, test = load_sysu(args.root)
    return sysu_summary(train, test), f"SYSU-MM01 at {args.root}"


def summary(args) -> int:
    from ..data.summary import format_table

    stats, title = _load(args)
    print(json.dumps(stats, indent=2) if args.json else format_table(stats, title))
    return 0


def split(args) -> int:
    from ..data.protocol import gallery_indices, query_indices
    from ..data.sysu import load_perm, load_sysu

    if not 1 <= args.trial <= 10:
        raise UserError(f"--trial {args.trial}: choose 1..10")
    _, test = load_sysu(args.root)
    if args.part == "query":
        idx = query_indices(test)
    else:
        perm = load_perm(args.root) if args.sampler == "official" else None
        idx = gallery_indices(test, args.mode, args.shots, args.trial - 1, args.sampler, perm)
    print("\n".join(test.names[i] for i in idx))
    return 0
