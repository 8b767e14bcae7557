#!/usr/bin/env python3
"""A small but real PyTorch training job for the berth Neuron training example.

It stands in for the model of AWS's "Deploy Neuron Container on ECS for
Training" walkthrough: it runs on the CPU (Debian's python3-torch), but it
lists the Neuron devices the container was given, so the run shows that
berth mapped exactly the devices it reserved.

What it does: builds a seeded synthetic classification data set (labels from
a fixed random "teacher" network, so there is something to learn), trains an
MLP for a few epochs, prints one line per epoch (flushed: berth follows the
log live), writes CHECKPOINT_DIR/epoch-N.pt after every epoch and
model-final.pt at the end, and exits 0. It exits 1 when the loss did not go
down (by at least 1%), and 143 after writing a checkpoint when it is stopped with SIGTERM.

Settings come from the environment, and the flags override them:
  EPOCHS (5)  BATCH (128)  LR (0.05)  CHECKPOINT_DIR (/checkpoints)
  SAMPLES (30000)  FEATURES (64)  HIDDEN (256)  CLASSES (4)  SEED (1234)
  DATA_DIR (unset: the data set is generated in memory and not kept)
"""

import argparse
import glob
import os
import signal
import sys
import time

import torch
from torch import nn


def log(msg):
    print(msg, flush=True)


def env_int(name, default):
    return int(os.environ.get(name, default))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=env_int("EPOCHS", 5))
    p.add_argument("--batch", type=int, default=env_int("BATCH", 128))
    p.add_argument("--lr", type=float, default=float(os.environ.get("LR", "0.05")))
    p.add_argument("--checkpoints", default=os.environ.get("CHECKPOINT_DIR", "/checkpoints"))
    p.add_argument("--data", default=os.environ.get("DATA_DIR"),
                   help="folder to keep the generated data set in (reused when present)")
    p.add_argument("--samples", type=int, default=env_int("SAMPLES", 30000))
    p.add_argument("--features", type=int, default=env_int("FEATURES", 64))
    p.add_argument("--hidden", type=int, default=env_int("HIDDEN", 256))
    p.add_argument("--classes", type=int, default=env_int("CLASSES", 4))
    p.add_argument("--seed", type=int, default=env_int("SEED", 1234))
    args = p.parse_args()
    if args.epochs < 1 or args.batch < 1 or args.samples < 2 * args.batch:
        p.error("need epochs >= 1, batch >= 1 and samples >= 2 * batch")
    return args


def report_devices():
    devices = sorted(glob.glob("/dev/neuron[0-9]*"), key=lambda d: int(d[len("/dev/neuron"):]))
    log(f"neuron devices visible: {len(devices)} {' '.join(devices) if devices else '(none)'}")
    log(f"BERTH_NEURON_DEVICES={os.environ.get('BERTH_NEURON_DEVICES', '(unset)')}")
    for name in ("NEURON_RT_VISIBLE_CORES", "AWS_NEURON_VISIBLE_DEVICES"):
        if name in os.environ:
            log(f"{name}={os.environ[name]}")
    gpus = sorted(g for g in glob.glob("/dev/nvidia[0-9]*"))
    if gpus:
        log(f"nvidia devices visible: {len(gpus)} {' '.join(gpus)}")


def make_dataset(args):
    """Seeded: the same settings always give the same data set."""
    cache = None
    if args.data:
        cache = os.path.join(
            args.data, f"synthetic-{args.seed}-{args.samples}-{args.features}-{args.classes}.pt")
        if os.path.exists(cache):
            x, y = torch.load(cache)
            log(f"data set: loaded {cache}")
            return x, y
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, args.features, generator=g)
    w1 = torch.randn(args.features, 32, generator=g) / args.features ** 0.5
    w2 = torch.randn(32, args.classes, generator=g)
    y = (torch.tanh(x @ w1) @ w2).argmax(dim=1)
    if cache:
        try:
            os.makedirs(args.data, exist_ok=True)
            torch.save((x, y), cache)
            log(f"data set: generated and saved to {cache}")
        except OSError as e:
            log(f"data set: generated (could not keep it: {e})")
    else:
        log("data set: generated in memory")
    return x, y


def save(path, model, epoch, loss, accuracy):
    tmp = path + ".tmp"
    torch.save({"epoch": epoch, "loss": loss, "accuracy": accuracy,
                "model_state_dict": model.state_dict()}, tmp)
    os.replace(tmp, path)  # a reader never sees half a checkpoint


def main():
    args = parse_args()
    stop = {"signal": None}
    signal.signal(signal.SIGTERM, lambda signum, _: stop.update(signal=signum))

    torch.manual_seed(args.seed)
    log(f"berth neuron-training example: torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, pid {os.getpid()}")
    report_devices()
    log(f"settings: epochs={args.epochs} batch={args.batch} lr={args.lr} samples={args.samples} "
        f"features={args.features} hidden={args.hidden} classes={args.classes} "
        f"checkpoints={args.checkpoints}")
    os.makedirs(args.checkpoints, exist_ok=True)

    x, y = make_dataset(args)
    split = int(len(x) * 0.9)
    x_train, y_train, x_val, y_val = x[:split], y[:split], x[split:], y[split:]

    model = nn.Sequential(
        nn.Linear(args.features, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    log(f"model: MLP {sum(p.numel() for p in model.parameters())} parameters, "
        f"{split} training / {len(x) - split} validation samples")

    losses = []
    started = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        t0 = time.monotonic()
        model.train()
        order = torch.randperm(split)
        total, seen = 0.0, 0
        for i in range(0, split, args.batch):
            idx = order[i:i + args.batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            if stop["signal"] is not None:
                break
        train_loss = total / seen
        model.eval()
        with torch.no_grad():
            val_logits = model(x_val)
            val_loss = loss_fn(val_logits, y_val).item()
            accuracy = (val_logits.argmax(dim=1) == y_val).float().mean().item()
        losses.append(train_loss)
        path = os.path.join(args.checkpoints, f"epoch-{epoch}.pt")
        save(path, model, epoch, train_loss, accuracy)
        log(f"epoch {epoch}/{args.epochs} loss={train_loss:.4f} val_loss={val_loss:.4f} "
            f"accuracy={accuracy:.4f} time={time.monotonic() - t0:.1f}s checkpoint={path}")
        if stop["signal"] is not None:
            log(f"stopped by signal {stop['signal']} during epoch {epoch}: checkpoint {path} kept")
            return 128 + stop["signal"]

    final = os.path.join(args.checkpoints, "model-final.pt")
    save(final, model, args.epochs, losses[-1], accuracy)
    log(f"training done in {time.monotonic() - started:.1f}s: loss {losses[0]:.4f} -> "
        f"{losses[-1]:.4f}, accuracy {accuracy:.4f}, final model {final}")
    # "Decreased" means by more than float noise: with LR=0 the sums differ in the last bits.
    if len(losses) > 1 and not losses[-1] < losses[0] * 0.99:
        log(f"error: the loss did not decrease ({losses[0]:.4f} -> {losses[-1]:.4f})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
