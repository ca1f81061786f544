#!/usr/bin/env python3
"""A zoo of PyTorch checkpoints of ParamZoo's built-in task `digits-mlp`, for the RPG benchmarks.

The model, data and preprocessing match engine/zoo/tasks/mlp.ts and engine/zoo/datasets/digits.ts:
  - MLP 64 -> 64 -> 10: fc1 -> ReLU -> fc2, state_dict fc1.weight [64, 64], fc1.bias [64],
    fc2.weight [10, 64], fc2.bias [10], all float32;
  - inputs are the 64 pixels of an 8x8 digit divided by 16 (pixel max), so in [0, 1];
  - split in file order: the first 1,347 rows of assets/datasets/digits.csv.gz train, the last 450 test.

Recipe (RPG.md, "Data: a zoo of checkpoints"): each seed trains --epochs epochs with Adam
(lr 3e-3, batch 32: the task's collection defaults), then trains ONE more epoch and saves
--per-seed checkpoints evenly through it. Permutation state of a checkpoint = its seed index.

    python3 bench/make-digits-zoo.py --out bench/out/digits-zoo --seeds 3 --per-seed 10 --epochs 30
"""
import argparse
import gzip
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS_CSV = os.path.join(REPO, 'assets', 'datasets', 'digits.csv.gz')
TRAIN_COUNT = 1347  # DIGITS_TRAIN_COUNT in engine/zoo/datasets/digits.ts
PIXEL_MAX = 16.0
SAMPLES = 1797


class DigitsMLP(nn.Module):
    """fc1 -> ReLU -> fc2, named as ParamZoo's digits-mlp signature expects."""

    def __init__(self, inputs=64, hidden=64, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def load_digits(path=DIGITS_CSV):
    """(x_train, y_train, x_test, y_test): pixels / 16 as float32, labels as int64, file order."""
    with gzip.open(path, 'rt') as f:
        rows = [[float(v) for v in line.split(',')] for line in f.read().strip().split('\n')]
    assert len(rows) == SAMPLES and all(len(r) == 65 for r in rows), 'unexpected digits.csv.gz layout'
    data = torch.tensor(rows, dtype=torch.float64)
    x = (data[:, :64] / PIXEL_MAX).float()
    y = data[:, 64].long()
    return x[:TRAIN_COUNT], y[:TRAIN_COUNT], x[TRAIN_COUNT:], y[TRAIN_COUNT:]


@torch.no_grad()
def accuracy(state_dict, x_test, y_test):
    """Test accuracy in percent of a digits-mlp state_dict (functional forward, no module needed)."""
    hidden = F.relu(F.linear(x_test, state_dict['fc1.weight'].float(), state_dict['fc1.bias'].float()))
    logits = F.linear(hidden, state_dict['fc2.weight'].float(), state_dict['fc2.bias'].float())
    return 100.0 * (logits.argmax(1) == y_test).float().mean().item()


def save_points(steps_per_epoch, count):
    """Steps (1-based, within the last epoch) after which to save: `count` evenly spaced, the last at the end."""
    return sorted({round((k + 1) * steps_per_epoch / count) for k in range(count)})


def train_epoch(model, optimizer, x, y, batch_size, generator, on_step=None):
    """One epoch of shuffled full batches (the incomplete last batch is dropped, as in ParamZoo)."""
    order = torch.randperm(len(x), generator=generator)
    steps = len(x) // batch_size
    for step in range(steps):
        idx = order[step * batch_size:(step + 1) * batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if on_step:
            on_step(step + 1)


def train_seed(seed, args, data, out_dir):
    """Trains one run and saves its checkpoints of the last epoch; returns [(file, accuracy)]."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = DigitsMLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(args.epochs):
        train_epoch(model, optimizer, x_train, y_train, args.batch_size, generator)

    points = save_points(len(x_train) // args.batch_size, args.per_seed)
    assert len(points) == args.per_seed, 'more checkpoints per seed than steps in an epoch'
    saved = []

    def maybe_save(step):
        if step in points:
            name = f'seed{seed}_ck{len(saved)}.pth'
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            torch.save(state, os.path.join(out_dir, name))  # zip format (PyTorch >= 1.6 default)
            saved.append((name, accuracy(state, x_test, y_test)))

    train_epoch(model, optimizer, x_train, y_train, args.batch_size, generator, maybe_save)
    return saved


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output directory for the .pth files and zoo.json')
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--per-seed', type=int, default=10, help='checkpoints saved through the last epoch')
    p.add_argument('--epochs', type=int, default=30, help='training epochs before the saving epoch')
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--threads', type=int, default=1)
    return p.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    data = load_digits()
    started = time.time()
    files, seeds, accuracies = [], [], []
    for seed in range(args.seeds):
        for name, acc in train_seed(seed, args, data, args.out):
            print(f'{name}: test accuracy {acc:.2f}%')
            files.append(name)
            seeds.append(seed)
            accuracies.append(acc)
    zoo = {
        'task': 'digits-mlp',
        'files': files,
        'seeds': seeds,  # permutation state of each file = its seed index
        'accuracies': accuracies,
        'recipe': {'epochs': args.epochs, 'perSeed': args.per_seed, 'lr': args.lr, 'batchSize': args.batch_size,
                   'optimizer': 'Adam', 'split': f'first {TRAIN_COUNT} train / last {SAMPLES - TRAIN_COUNT} test'},
    }
    with open(os.path.join(args.out, 'zoo.json'), 'w') as f:
        json.dump(zoo, f, indent=1)
    print(f'{len(files)} checkpoints in {args.out}: accuracy best {max(accuracies):.2f} '
          f'avg {sum(accuracies) / len(accuracies):.2f} min {min(accuracies):.2f} ({time.time() - started:.1f} s)')


if __name__ == '__main__':
    main()
