"""The paper's side of the comparison (notebooks 01 and 06): numbers others published,
quoted as citations (the only numbers in this project not computed here), and the
table of DECISIONS.md, where the paper is silent and this reproduction had to choose.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

DECISIONS = Path(__file__).resolve().parents[2] / "DECISIONS.md"

# The paper's published numbers (Wang et al., CVPR 2019, Tables 1-2, as copied into
# later papers' tables): these are citations, the only numbers not computed here.
PAPER_RESULTS = {
    "SYSU-MM01 all-search single-shot": {"rank1": 28.9, "rank10": 70.6, "rank20": 82.4, "mAP": 29.2},
    "RegDB visible->thermal": {"rank1": 43.4, "rank10": 66.1, "rank20": 76.3, "mAP": 44.1},
}

# Published SYSU-MM01 all-search single-shot results (rank-1, mAP) of D2RL and its peers,
# as reported by their papers: citations, for context only (another dataset than ours).
PUBLISHED_SYSU = {
    "Zero-Padding (ICCV 2017)": (14.8, 16.0), "BDTR (IJCAI 2018)": (17.01, 19.66),
    "D-HSME (AAAI 2019)": (20.68, 23.12), "cmGAN (IJCAI 2018)": (27.0, 27.8),
    "D2RL (CVPR 2019)": (28.9, 29.2), "Hi-CMD (CVPR 2020)": (34.9, 35.9),
    "JSIA-ReID (AAAI 2020)": (38.1, 36.9), "AlignGAN (ICCV 2019)": (42.4, 40.7),
    "AGW (TPAMI 2021)": (47.5, 47.65), "DDAG (ECCV 2020)": (54.75, 53.02),
    "CAJ (ICCV 2021)": (69.88, 66.89),
}

# SYSU-MM01's own counts (Wu et al., ICCV 2017; train + val ids, relabelled), the figures
# `d2rl data summary --dataset sysu` should print on the real data: a citation, for comparison.
SYSU_MM01_SUMMARY = {"train_ids": 395, "train_rgb_images": 22258, "train_ir_images": 11909,
                     "test_ids": 96, "query_images": 3803}


def decisions(path: Path | None = None) -> List[dict]:
    """The rows of DECISIONS.md's table: ``{"item", "paper says", "we chose", "why"}``."""
    text = (path or DECISIONS).read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or set(cells[0]) <= {"-", " ", ":"}:
            continue
        if cells[0].lower() == "item":
            continue
        rows.append({"item": cells[0], "paper says": cells[1], "we chose": cells[2],
                     "why": " | ".join(cells[3:])})
    return rows
