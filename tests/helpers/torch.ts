import { execFileSync, spawnSync } from 'node:child_process';

/** Debian's python3 with torch 1.13 (the pyenv `python3` on PATH has no torch). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Why a test that needs PyTorch was skipped. CI installs it, so there none is skipped. */
export const TORCH_MISSING = `PyTorch not installed (${SYSTEM_PYTHON} cannot import torch): apt-get install python3-torch libopenblas0-pthread`;

let available: boolean | undefined;

/** Whether SYSTEM_PYTHON can import torch (asked once per test file). */
export function torchAvailable(): boolean {
  available ??= spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 }).status === 0;
  return available;
}

/**
 * node:test's `skip` option for every test that calls PyTorch: `test(name, { skip: skipWithoutTorch() }, fn)`.
 * false when PyTorch is there, else the one reason, TORCH_MISSING.
 */
export function skipWithoutTorch(): string | false {
  return torchAvailable() ? false : TORCH_MISSING;
}

/**
 * Runs a Python script with PyTorch available; `input` arrives as JSON on stdin (`json.load(sys.stdin)`)
 * and the script prints one JSON document, which is returned. Callers skip with skipWithoutTorch().
 */
export function runTorch<T = unknown>(script: string, input: unknown = null): T {
  const stdout = execFileSync(SYSTEM_PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return JSON.parse(stdout) as T;
}

/**
 * Python that builds ParamZoo's digits-cnn as a plain PyTorch module and loads it from the request on
 * stdin: `request` (with 'csv', the digits file, and 'weights': name → {shape, values}), `images`
 * [N, 1, 8, 8] in [0, 1], `labels`, `model` (strict state_dict load). Tests append what they compute.
 */
export const DIGITS_CNN_TORCH = String.raw`
import gzip, json, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))

request = json.load(sys.stdin)
rows = gzip.open(request['csv'], 'rt').read().strip().split('\n')
data = torch.tensor([[float(v) for v in r.split(',')] for r in rows])
images = (data[:, :64] / 16).reshape(-1, 1, 8, 8)
labels = data[:, 64].long()
model = DigitsCNN()
state = {}
for name, t in request['weights'].items():
    dtype = torch.int64 if name.endswith('num_batches_tracked') else torch.float32
    state[name] = torch.tensor(t['values'], dtype=dtype).reshape(t['shape'])
model.load_state_dict(state, strict=True)
`;
