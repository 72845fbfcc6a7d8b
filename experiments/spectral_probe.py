"""Diagnostic: which unpaired signal can teach the spectral projection P_v on its own?

The known-answer case for T_I (near-infrared world, where grey already scores V->IR
correlation ~0.61 and the world's own red-end weights 0.69): only P_v is trained, the four
numbers of ``ti.output=spectral``'s colour projection (starting as luminance), with no
encoder, generator or exposure around it, by one of three signals:

- ``match``: the identity-level match (``ti.w_match``'s loss): per identity in a batch of
  ``--ids`` identities x ``--k`` images per modality, the quantiles of the translated person
  boxes against the real infrared ones;
- ``match-shuffled``: the same with the infrared images of *another* identity (the control:
  what the match learns without knowing who is who);
- ``gan``: a person-view discriminator (LSGAN), no identities.

    python experiments/spectral_probe.py --signal match --seed 0
    python experiments/spectral_probe.py --signal match-shuffled --seed 0

Writes (merges into) results/experiments/spectral-probe-<preset>.json, one row per command.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from d2rl_lib.config import get_config
from d2rl_lib.data.records import LUMA, VISIBLE, to_signed
from d2rl_lib.data.synthetic.nearinfrared import DYE_NIR
from d2rl_lib.evaluation.fidelity import per_image_l1_corr
from d2rl_lib.losses.translation import gan_d_loss, gan_g_loss, identity_match_loss
from d2rl_lib.models.translation import Discriminator
from d2rl_lib.data.loading import load_data
from d2rl_lib.training.ti_batches import UnpairedBatches

from results_file import EXPERIMENTS, merge_run  # experiments/results_file.py, beside this script


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--signal", choices=("match", "match-shuffled", "gan"), default="match")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--ids", type=int, default=8)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    cfg = get_config(a.config, [f"runtime.seed={a.seed}"])
    train, test = load_data(cfg)
    vis = np.flatnonzero(test.modality == VISIBLE)
    x_test = to_signed(test.images[vis])                                 # [N, 3, H, W]
    twins, masks = test.paired[vis][:, :1].float() / 255, test.masks[vis]

    p_v = nn.Conv2d(3, 1, 1)                                              # the spectral projection
    with torch.no_grad():
        p_v.weight.copy_(torch.as_tensor(LUMA).view(1, 3, 1, 1))
        p_v.bias.zero_()
    opt = torch.optim.Adam(p_v.parameters(), lr=a.lr, betas=(0.5, 0.999))
    disc = Discriminator(1, 32, 2, 1, view="person") if a.signal == "gan" else None
    opt_d = torch.optim.Adam(disc.parameters(), lr=a.lr, betas=(0.5, 0.999)) if disc else None
    batches = UnpairedBatches(train, a.ids * a.k, a.seed, ids=a.ids)

    def fidelity():
        with torch.no_grad():
            out = (p_v(x_test).clamp(-1, 1) + 1) / 2
        l1, corr = per_image_l1_corr(out, twins, masks)
        return {"v2i_corr": round(corr, 4), "v2i_l1": round(l1, 4),
                "weights": [round(w, 3) for w in p_v.weight.view(-1).tolist()],
                "bias": round(float(p_v.bias), 3)}

    with torch.no_grad():                             # the world's own red-end weights, for reference
        p_v.weight.copy_(torch.tensor(DYE_NIR, dtype=torch.float32).view(1, 3, 1, 1))
        world_weights = fidelity()
        p_v.weight.copy_(torch.as_tensor(LUMA).view(1, 3, 1, 1))
    curve, t0 = [{"step": 0, **fidelity()}], time.perf_counter()
    for step in range(a.steps):
        x, y, kx, ky = batches.labelled(step)
        fake = p_v(x).clamp(-1, 1)                                        # [B, 1, H, W]
        if disc is None:
            if a.signal == "match-shuffled":         # each person's infrared images named
                ky = torch.roll(ky, a.k)             # after the next person in the batch
            loss = identity_match_loss(fake, kx, y, ky)
        else:
            d_loss = gan_d_loss(disc(y), disc(fake.detach()))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            loss = gan_g_loss(disc(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % (a.steps // 4) == 0:
            curve.append({"step": step + 1, **fidelity()})
            print(curve[-1], flush=True)
    row = {"signal": a.signal, "seed": a.seed, "steps": a.steps, "batch": f"{a.ids} ids x {a.k}",
           "lr": a.lr, "world_weights": world_weights, "seconds": round(time.perf_counter() - t0, 1), "curve": curve,
           "command": "python experiments/spectral_probe.py " + " ".join(sys.argv[1:])}
    out = Path(a.out) if a.out else EXPERIMENTS / f"spectral-probe-{cfg.preset}.json"
    merge_run(out, __doc__.split("\n\n")[1].replace("\n", " "), row)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
