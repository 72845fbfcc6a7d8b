"""Two-process DDP on CPU with gloo: gradients are averaged, so replicas stay identical."""
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from d2rl_lib import distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out) -> None:
    torch.set_num_threads(1)
    distributed.init_process(rank, world, port)
    torch.manual_seed(0)
    model = distributed.wrap(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(100 + rank)  # each rank sees different data
    for _ in range(3):
        x = torch.randn(16, 4, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out[rank] = torch.cat([p.detach().flatten() for p in model.parameters()])
    distributed.cleanup()


@pytest.mark.slow
def test_two_process_gloo_replicas_agree():
    world = 2
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(world, _free_port(), out), nprocs=world, join=True)
    a, b = out[0], out[1]
    assert torch.allclose(a, b)
    torch.manual_seed(0)
    init = torch.cat([p.detach().flatten() for p in
                      nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).parameters()])
    assert not torch.allclose(a, init)  # training moved the weights


def test_wrap_without_group_is_identity():
    m = nn.Linear(2, 2)
    assert distributed.wrap(m) is m and distributed.is_main()
