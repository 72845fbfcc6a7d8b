"""``d2rl bench``: speed, efficiency and memory benchmarks written to results/.

    d2rl bench                        # everything (about 10 min on 2 cores), results/bench.json
    d2rl bench --quick --out /tmp/b.json      # tiny shapes, seconds (the test)
    d2rl bench --only eval --only data        # some measurements, merged into the JSON
    d2rl bench --profile joint_step           # torch.profiler table of the joint step
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import UserError


def register(sub) -> None:
    from ..bench import EXTRA, NAMES

    p = sub.add_parser("bench", help="measure speed and memory, write results/bench.json")
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
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import bench

    names = list(dict.fromkeys(args.only))
    bad = [n for n in names if n not in bench.NAMES + bench.EXTRA]
    if bad:
        raise UserError(f"--only {', '.join(bad)}: unknown; valid names: {', '.join(bench.NAMES + bench.EXTRA)}")
    if args.threads < 1:
        raise UserError(f"--threads {args.threads}: give 1 or more")
    root = Path.cwd()
    command = ("d2rl bench" + "".join(f" --only {n}" for n in names) + (" --quick" if args.quick else "")
               + (f" --threads {args.threads}" if args.threads != 1 else ""))
    if args.profile:
        import torch

        torch.set_num_threads(args.threads)
        cfg = bench.classroom_config(args.threads, args.quick)
        if args.profile == "joint_step":
            print(bench.profile_joint_step(cfg))
        else:
            print(bench.profile_step(cfg))
        return 0
    out = Path(args.out) if args.out else root / "results" / ("bench-quick.json" if args.quick else "bench.json")
    res = bench.run_bench(root, names or None, args.quick, args.threads, command,
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
    table = bench.markdown_table(res)
    md = args.markdown or (None if args.quick else str(root / "docs" / "benchmarks.md"))
    if md:
        bench.write_markdown(Path(md), table)
    print(table)
    print(f"wrote {out}" + (f" and {md}" if md else ""))
    return 0
