"""``d2rl data export`` and ``d2rl data show``: the synthetic world on disk and on screen."""
from __future__ import annotations

from pathlib import Path

from .common import add_config_args, config_from_args


def register(g) -> None:
    """Add the synthetic-world subcommands to the ``data`` group ``g``."""
    e = g.add_parser("export", help="write the synthetic world in SYSU-MM01's folder layout")
    e.add_argument("--dataset", choices=("synthetic",), default="synthetic")
    e.add_argument("--layout", choices=("sysu", "regdb"), default="sysu",
                   help="sysu: camN/PPPP/NNNN.jpg + exp/*.txt; regdb: Visible/, Thermal/, idx/")
    e.add_argument("--out", required=True, help="folder to write")
    add_config_args(e)
    e.set_defaults(func=export)

    s = g.add_parser("show", help="draw identities of the synthetic world in both modalities")
    s.add_argument("--ids", default="1,2,3,4", help="comma-separated person ids")
    s.add_argument("--out", default="world_grid.png",
                   help="PNG to write (figures/ holds the notebooks' figures: notebook 01 draws this grid)")
    add_config_args(s)
    s.set_defaults(func=show)


def export(args) -> int:
    from ..data.export import export_regdb, export_sysu
    from ..data.synthetic import SyntheticWorld, WorldSpec, load_synthetic

    cfg = config_from_args(args)
    if args.layout == "regdb":
        out = export_regdb(SyntheticWorld(WorldSpec.from_config(cfg.data)), args.out)
        print(f"wrote the world in RegDB's layout (one camera pair, 10 + 10 images per id) to {out}")
        return 0
    data = load_synthetic(cfg.data)
    out = export_sysu(data.train, data.test, args.out)
    print(f"wrote {len(data.train) + len(data.test)} images in the SYSU-MM01 layout to {out}")
    return 0


def show(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data.synthetic import SyntheticWorld, WorldSpec
    from ..errors import UserError
    from ..course.viz import identity_grid

    try:
        ids = [int(t) for t in args.ids.split(",")]
    except ValueError:
        raise UserError(f"--ids {args.ids!r}: give comma-separated integers, e.g. 1,2,3") from None
    world = SyntheticWorld(WorldSpec.from_config(config_from_args(args).data))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    identity_grid(world, ids).savefig(out)
    print(f"wrote {out}")
    return 0
