#!/usr/bin/env python3
"""Multi-node data-parallel training for berth's distributed-training example.

One process per node (a rank of a berth gang), torch.distributed with the gloo
backend and DistributedDataParallel, on the CPU (Debian's python3-torch).

berth gives every rank the rendezvous environment that
init_process_group(init_method="env://") reads: RANK, WORLD_SIZE,
MASTER_ADDR (rank 0's node), MASTER_PORT; and BERTH_GANG_ATTEMPT (0, 1, ...
for each placement of the gang) and BERTH_GANG_HOSTS (every rank's node
address, in rank order).

What it does: a seeded synthetic classification data set (the same on every
rank, labels from a fixed random "teacher" network), each rank trains on its
own shard (rank::world_size), gradients are averaged by DDP. After every epoch
rank 0 writes CHECKPOINT_DIR/epoch-N.pt (model, optimizer, loss history;
written to a temporary name and renamed) and every rank waits for it. A start
resumes from the newest checkpoint in CHECKPOINT_DIR (rank 0 picks it and
tells the others), so a gang that berth places again after a node died goes
on where it was. Exits 0 when all epochs are done and the loss went down.

SIGTERM (berth stopping the rank) ends the process at once: a rank blocked
in a collective whose peer died cannot run a Python handler, and nothing of
the current epoch is worth keeping; the last checkpoint is.

Settings (environment, overridden by flags): EPOCHS (8) BATCH (64, per
rank) LR (0.02) CHECKPOINT_DIR (/checkpoints) SAMPLES (24000) FEATURES (64)
HIDDEN (160) CLASSES (4) SEED (1234) GLOO_TIMEOUT (120 s) and
GLOO_SOCKET_IFNAME (default: the interface that holds this node's address
in BERTH_GANG_HOSTS).
"""

import argparse
import datetime
import fcntl
import glob
import os
import re
import socket
import struct
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def env_int(name, default):
    return int(os.environ.get(name, default))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=env_int("EPOCHS", 8))
    p.add_argument("--batch", type=int, default=env_int("BATCH", 64))
    p.add_argument("--lr", type=float, default=float(os.environ.get("LR", "0.02")))
    p.add_argument("--checkpoints", default=os.environ.get("CHECKPOINT_DIR", "/checkpoints"))
    p.add_argument("--samples", type=int, default=env_int("SAMPLES", 24000))
    p.add_argument("--features", type=int, default=env_int("FEATURES", 64))
    p.add_argument("--hidden", type=int, default=env_int("HIDDEN", 160))
    p.add_argument("--classes", type=int, default=env_int("CLASSES", 4))
    p.add_argument("--seed", type=int, default=env_int("SEED", 1234))
    p.add_argument("--timeout", type=int, default=env_int("GLOO_TIMEOUT", 120),
                   help="seconds a rendezvous or collective may wait for the other ranks")
    return p.parse_args()


RANK = int(os.environ.get("RANK", "0"))
ATTEMPT = os.environ.get("BERTH_GANG_ATTEMPT", "-")


def log(msg):
    print(f"[attempt {ATTEMPT} rank {RANK}] {msg}", flush=True)


def interface_of(address):
    """The name of the local interface that holds IPv4 address, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                req = struct.pack("256s", name.encode()[:15])
                got = fcntl.ioctl(s.fileno(), 0x8915, req)  # SIOCGIFADDR
            except OSError:
                continue
            if socket.inet_ntoa(got[20:24]) == address:
                return name
    return None


def choose_gloo_interface():
    """gloo binds to the address its host name resolves to, which in a
    container is often none (or loopback): the ranks would not reach each
    other. Bind it to the interface of this node's address instead."""
    if os.environ.get("GLOO_SOCKET_IFNAME"):
        return
    hosts = [h for h in os.environ.get("BERTH_GANG_HOSTS", "").split(",") if h]
    if RANK < len(hosts):
        name = interface_of(hosts[RANK])
        if name:
            os.environ["GLOO_SOCKET_IFNAME"] = name


def newest_checkpoint(folder):
    found = []
    for path in glob.glob(os.path.join(folder, "epoch-*.pt")):
        m = re.fullmatch(r"epoch-(\d+)\.pt", os.path.basename(path))
        if m:
            found.append((int(m.group(1)), path))
    return max(found) if found else (0, None)


def make_dataset(args):
    """Seeded: every rank makes the same data set."""
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, args.features, generator=g)
    w1 = torch.randn(args.features, 32, generator=g) / args.features ** 0.5
    w2 = torch.randn(32, args.classes, generator=g)
    y = (torch.tanh(x @ w1) @ w2).argmax(dim=1)
    return x, y


def main():
    args = parse_args()
    torch.set_num_threads(1)
    choose_gloo_interface()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    log(f"torch {torch.__version__}, host {os.environ.get('BERTH_GANG_HOSTS', '?').split(',')[RANK]}, "
        f"world {world}, master {os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}, "
        f"gloo interface {os.environ.get('GLOO_SOCKET_IFNAME', '(default)')}")
    dist.init_process_group("gloo", init_method="env://",
                            timeout=datetime.timedelta(seconds=args.timeout))
    rank, world = dist.get_rank(), dist.get_world_size()

    torch.manual_seed(args.seed)
    model = nn.Sequential(
        nn.Linear(args.features, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    # Rank 0 picks the checkpoint, so that every rank resumes from the same one.
    os.makedirs(args.checkpoints, exist_ok=True)
    choice = [newest_checkpoint(args.checkpoints) if rank == 0 else None]
    dist.broadcast_object_list(choice, src=0)
    start_epoch, path = choice[0]
    history = []
    if path:
        state = torch.load(path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = state["history"]
        log(f"resumed from epoch {start_epoch} ({path}, loss {history[-1]:.4f})")
    else:
        log("no checkpoint: starting from epoch 0")
    ddp = DistributedDataParallel(model)
    loss_fn = nn.CrossEntropyLoss()

    x, y = make_dataset(args)
    split = int(len(x) * 0.9)
    shard = torch.arange(rank, split, world)  # this rank's training samples
    x_val, y_val = x[split:], y[split:]
    if start_epoch == 0:
        log(f"model: MLP {sum(p.numel() for p in model.parameters())} parameters; "
            f"{len(shard)} of {split} training samples on this rank")

    for epoch in range(start_epoch + 1, args.epochs + 1):
        t0 = time.monotonic()
        ddp.train()
        # The same shuffle on every rank and in every attempt: seeded by epoch.
        order = shard[torch.randperm(len(shard), generator=torch.Generator().manual_seed(epoch))]
        total = torch.zeros(2)
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            optimizer.zero_grad()
            loss = loss_fn(ddp(x[idx]), y[idx])
            loss.backward()  # DDP averages the gradients over the ranks here
            optimizer.step()
            total += torch.tensor([loss.item() * len(idx), len(idx)])
        dist.all_reduce(total)  # the loss over every rank's samples
        train_loss = (total[0] / total[1]).item()
        ddp.eval()
        with torch.no_grad():
            logits = model(x_val)
            accuracy = (logits.argmax(dim=1) == y_val).float().mean().item()
        history.append(train_loss)
        path = os.path.join(args.checkpoints, f"epoch-{epoch}.pt")
        if rank == 0:
            tmp = path + ".tmp"
            torch.save({"epoch": epoch, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "history": history}, tmp)
            os.replace(tmp, path)  # a reader never sees half a checkpoint
        dist.barrier()  # no rank runs ahead of the last checkpoint
        log(f"epoch {epoch}/{args.epochs} loss={train_loss:.4f} accuracy={accuracy:.4f} "
            f"time={time.monotonic() - t0:.1f}s" + (f" checkpoint={path}" if rank == 0 else ""))

    dist.destroy_process_group()
    log("training done: loss by epoch " + " ".join(f"{v:.4f}" for v in history))
    if len(history) > 1 and not history[-1] < history[0] * 0.99:
        log(f"error: the loss did not decrease ({history[0]:.4f} -> {history[-1]:.4f})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
