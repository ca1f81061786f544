#!/usr/bin/env python3
"""An independent PyTorch twin of ParamZoo's RPG generator, written from /work/shared/RPG.md only
(not from engine/rpg/*), so the two implementations can be compared to find bugs in either.

Method (RPG: Recurrent diffusion for large-scale Parameter Generation), as configured by default:
  tokens      each generated tensor is normalised with one scalar mean/std (averaged over the zoo),
              flattened and cut into tokens of --token-size values; the last token of a tensor is
              zero-padded and its padding masked out of the loss. Integer and one-element tensors
              are not generated: they are copied from the first checkpoint.
  condition   fixed 2-D sinusoidal position embedding (half the channels: index of the token in its
              tensor, half: index of the tensor) + a learned embedding of the permutation state.
  recurrent   nn.LSTM (2 layers, width 256) over the whole token sequence -> one prototype per token.
  diffusion   a 1-D conv denoiser 1->32->64->128->64->32->1 (kernel 7, same padding, BatchNorm1d or
              LayerNorm + ELU after each hidden conv, skips at the 64 and 32 levels); every conv sees
              (h + cond) * time, cond = Linear(prototype), time = MLP(sinusoid(t)). epsilon-prediction,
              linear beta 1e-4..0.02, T = 1000; each step trains on --diffusion-batch random tokens of
              --batch checkpoints, each token with its own t. AdamW, cosine decay, gradient clip 1.0.
  sampling    DDIM (60 steps, eta 0.05) or DDPM (1000 steps); prototypes computed once per model.

    python3 bench/rpg-twin.py --zoo bench/out/digits-zoo --steps 1000 --norm batch --out bench/out/twin-bn

Prints progress on stderr and one JSON line on stdout at the end.
"""
import argparse
import glob
import importlib.util
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
POSITION_BASE = 10000.0
RUNNING_VAR_SHIFT = 0.05  # BN running_var goes through log(var / p + 0.05), p = 0.95 * mean(var)
RUNNING_VAR_SCALE = 0.95
RUNNING_VAR_FLOOR = 0.001


# ---------------------------------------------------------------------------------------------
# Zoo: checkpoints and their permutation states
# ---------------------------------------------------------------------------------------------

def load_zoo(paths):
    """(state_dicts, permutation states as 0..S-1, file names) from a zoo directory or .pth files.

    A directory with zoo.json takes its files and `seeds` (permutation state = seed); otherwise
    every .pth file is its own permutation state (the paper's recipe).
    """
    if len(paths) == 1 and os.path.isdir(paths[0]):
        index = os.path.join(paths[0], 'zoo.json')
        if os.path.exists(index):
            with open(index) as f:
                zoo = json.load(f)
            files = [os.path.join(paths[0], name) for name in zoo['files']]
            states = zoo['seeds']
        else:
            files = sorted(glob.glob(os.path.join(paths[0], '*.pth')))
            states = list(range(len(files)))
    else:
        files, states = list(paths), list(range(len(paths)))
    if not files:
        raise SystemExit(f'no checkpoints found in {paths}')
    ordered = sorted(set(states))
    state_ids = torch.tensor([ordered.index(s) for s in states])
    state_dicts = [torch.load(path, map_location='cpu') for path in files]
    return state_dicts, state_ids, files


# ---------------------------------------------------------------------------------------------
# Tokenization
# ---------------------------------------------------------------------------------------------

def is_generated(tensor):
    """Floating tensors with more than one element are generated; the rest is copied."""
    return tensor.is_floating_point() and tensor.numel() > 1


class Tokenizer:
    """Per-tensor tokens: normalise (one scalar mean/std per tensor), flatten, cut, pad.

    Token order is the state_dict order; a token never spans two tensors.
    """

    def __init__(self, state_dicts, token_size):
        self.token_size = token_size
        self.template = state_dicts[0]
        self.names = [name for name, t in self.template.items() if is_generated(t)]
        self.var_scale = {name: RUNNING_VAR_SCALE * torch.stack([sd[name].double().mean() for sd in state_dicts]).mean()
                          for name in self.names if name.endswith('running_var')}
        self.mean, self.std = {}, {}
        for name in self.names:
            values = [self._forward_transform(name, sd[name].double()) for sd in state_dicts]
            self.mean[name] = torch.stack([v.mean() for v in values]).mean()
            self.std[name] = torch.stack([v.std() if v.numel() > 1 else torch.tensor(1.0) for v in values]).mean()
            if self.std[name] == 0:
                self.std[name] = torch.tensor(1.0, dtype=torch.float64)
        self.counts = [math.ceil(self.template[name].numel() / token_size) for name in self.names]
        self.num_tokens = sum(self.counts)

    def _forward_transform(self, name, values):
        """BN running variances are modelled in log space; everything else as is."""
        if name in self.var_scale:
            return torch.log(values / self.var_scale[name] + RUNNING_VAR_SHIFT)
        return values

    def _inverse_transform(self, name, values):
        if name in self.var_scale:
            return torch.clamp(torch.exp(values) - RUNNING_VAR_SHIFT, min=RUNNING_VAR_FLOOR) * self.var_scale[name]
        return values

    def positions(self):
        """(index of each token inside its tensor, index of its tensor), both [num_tokens]."""
        in_tensor = torch.cat([torch.arange(n) for n in self.counts])
        tensor = torch.cat([torch.full((n,), i) for i, n in enumerate(self.counts)])
        return in_tensor, tensor

    def mask(self):
        """[num_tokens, token_size]: 1 on real values, 0 on padding."""
        rows = []
        for name, n in zip(self.names, self.counts):
            m = torch.zeros(n * self.token_size)
            m[:self.template[name].numel()] = 1
            rows.append(m.view(n, self.token_size))
        return torch.cat(rows)

    def encode(self, state_dict):
        """[num_tokens, token_size] float32 tokens of one checkpoint (padding = 0)."""
        rows = []
        for name, n in zip(self.names, self.counts):
            flat = self._forward_transform(name, state_dict[name].double().flatten())
            flat = (flat - self.mean[name]) / self.std[name]
            rows.append(F.pad(flat, (0, n * self.token_size - flat.numel())).view(n, self.token_size))
        return torch.cat(rows).float()

    def decode(self, tokens):
        """A state_dict with the template's names, order, shapes and dtypes from [num_tokens, token_size]."""
        out, row = {}, 0
        generated = dict(zip(self.names, self.counts))
        for name, original in self.template.items():
            if name not in generated:
                out[name] = original.clone()
                continue
            n = generated[name]
            flat = tokens[row:row + n].double().flatten()[:original.numel()]
            row += n
            values = self._inverse_transform(name, flat * self.std[name] + self.mean[name])
            out[name] = values.view(original.shape).to(original.dtype)
        return out


# ---------------------------------------------------------------------------------------------
# Model: conditions -> recurrent prototypes -> conv denoiser
# ---------------------------------------------------------------------------------------------

def sinusoid(positions, channels):
    """[len, channels] interleaved sin/cos of positions * exp(-2k ln(10000) / channels), k < channels/2."""
    k = torch.arange(channels // 2, dtype=torch.float32)
    freq = torch.exp(-2 * k * math.log(POSITION_BASE) / channels)
    angles = positions.float()[:, None] * freq[None, :]
    out = torch.zeros(len(positions), channels)
    out[:, 0::2] = torch.sin(angles)
    out[:, 1::2] = torch.cos(angles)
    return out


def position_embedding(in_tensor, tensor, width):
    """Fixed 2-D embedding: first half encodes the index in the tensor, second half the tensor index."""
    return torch.cat([sinusoid(in_tensor, width // 2), sinusoid(tensor, width // 2)], dim=1)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels at each position of [N, C, L] (the ablation of BatchNorm1d)."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def conv_block(cin, cout, kernel, norm):
    """conv (same padding) -> norm -> ELU."""
    norm_layer = nn.BatchNorm1d(cout) if norm == 'batch' else ChannelLayerNorm(cout)
    return nn.Sequential(nn.Conv1d(cin, cout, kernel, padding=kernel // 2), norm_layer, nn.ELU())


class Denoiser(nn.Module):
    """Predicts the noise of tokens [N, 1, token_size] from (x_t, t, prototype)."""

    TIME_FEATURES = 256

    def __init__(self, token_size, prototype_width, norm, kernel=7):
        super().__init__()
        self.time_mlp = nn.Sequential(nn.Linear(self.TIME_FEATURES, token_size), nn.SiLU(), nn.Linear(token_size, token_size))
        self.cond_proj = nn.Linear(prototype_width, token_size)
        self.enc1 = conv_block(1, 32, kernel, norm)
        self.enc2 = conv_block(32, 64, kernel, norm)
        self.enc3 = conv_block(64, 128, kernel, norm)
        self.dec1 = conv_block(128, 64, kernel, norm)
        self.dec2 = conv_block(64, 32, kernel, norm)
        self.out = nn.Conv1d(32, 1, kernel, padding=kernel // 2)

    def forward(self, x, t, prototype):
        time = self.time_mlp(sinusoid(t, self.TIME_FEATURES))[:, None, :]
        cond = self.cond_proj(prototype)[:, None, :]
        inject = lambda h: (h + cond) * time  # every conv sees (h + cond) * time
        e1 = self.enc1(inject(x))
        e2 = self.enc2(inject(e1))
        e3 = self.enc3(inject(e2))
        d1 = self.dec1(inject(e3)) + e2  # skip at the 64 level
        d2 = self.dec2(inject(d1)) + e1  # skip at the 32 level
        return self.out(inject(d2))


class RPG(nn.Module):
    """Position + permutation embedding -> LSTM -> prototypes; a shared denoiser per token."""

    def __init__(self, tokenizer, num_states, width, layers, norm):
        super().__init__()
        in_tensor, tensor = tokenizer.positions()
        self.register_buffer('position', position_embedding(in_tensor, tensor, width))
        self.permutation = nn.Embedding(num_states, width)
        self.recurrent = nn.LSTM(width, width, num_layers=layers, batch_first=True)
        self.denoiser = Denoiser(tokenizer.token_size, width, norm)

    def prototypes(self, states):
        """[B, num_tokens, width] for permutation states [B]: one parallel pass, no parameter values fed in."""
        x = self.position[None, :, :] + self.permutation(states)[:, None, :]
        return self.recurrent(x)[0]


# ---------------------------------------------------------------------------------------------
# Diffusion: schedule, training step, samplers
# ---------------------------------------------------------------------------------------------

class Schedule:
    """Linear beta schedule and its cumulative products."""

    def __init__(self, steps=1000, beta_start=1e-4, beta_end=0.02):
        self.steps = steps
        self.betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
        self.alphas = 1 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)

    def noise(self, x0, t, eps):
        ab = self.alpha_bars[t].float()[:, None, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def training_loss(model, schedule, tokens, mask, states, batch, diffusion_batch):
    """epsilon-MSE over the real (unpadded) values of a random subset of tokens of `batch` checkpoints.

    The recurrent model runs over the whole sequence of each checkpoint; gradients reach it through
    the prototypes of the chosen tokens. diffusion_batch 0 = every token of the batch.
    """
    picked = torch.randperm(len(tokens))[:batch]
    prototypes = model.prototypes(states[picked])          # [B, L, W]
    x0 = tokens[picked].reshape(-1, tokens.shape[-1])       # [B*L, token]
    m = mask.expand(len(picked), -1, -1).reshape(-1, mask.shape[-1])
    prototypes = prototypes.reshape(-1, prototypes.shape[-1])
    if diffusion_batch:
        chosen = torch.randperm(len(x0))[:diffusion_batch]
        x0, m, prototypes = x0[chosen], m[chosen], prototypes[chosen]
    t = torch.randint(0, schedule.steps, (len(x0),))
    eps = torch.randn_like(x0)
    predicted = model.denoiser(schedule.noise(x0[:, None, :], t, eps[:, None, :]), t, prototypes)
    return (((predicted[:, 0, :] - eps) ** 2) * m).sum() / m.sum()


@torch.no_grad()
def sample_ddim(model, schedule, prototypes, token_size, steps, eta, generator):
    """DDIM from pure noise over `steps` evenly spaced timesteps (no clipping of the predicted x0)."""
    n = len(prototypes)
    timesteps = torch.linspace(schedule.steps - 1, 0, steps).round().long()
    x = torch.randn(n, 1, token_size, generator=generator)
    for i, t in enumerate(timesteps):
        ab = schedule.alpha_bars[t].item()
        ab_prev = schedule.alpha_bars[timesteps[i + 1]].item() if i + 1 < steps else 1.0
        eps = model.denoiser(x, t.repeat(n), prototypes)
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator)
    return x[:, 0, :]


@torch.no_grad()
def sample_ddpm(model, schedule, prototypes, token_size, generator):
    """Ancestral DDPM over all T steps, posterior variance beta~_t."""
    n = len(prototypes)
    x = torch.randn(n, 1, token_size, generator=generator)
    for t in range(schedule.steps - 1, -1, -1):
        beta, alpha, ab = (schedule.betas[t].item(), schedule.alphas[t].item(), schedule.alpha_bars[t].item())
        eps = model.denoiser(x, torch.full((n,), t), prototypes)
        x = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
        if t > 0:
            ab_prev = schedule.alpha_bars[t - 1].item()
            x = x + math.sqrt(beta * (1 - ab_prev) / (1 - ab)) * torch.randn(x.shape, generator=generator)
    return x[:, 0, :]


# ---------------------------------------------------------------------------------------------
# Run: train, generate, judge
# ---------------------------------------------------------------------------------------------

def train(model, schedule, tokens, mask, states, args):
    """AdamW + cosine decay + gradient clipping; returns (per-step losses, seconds per step)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    model.train()
    losses = []
    started = time.time()
    for step in range(args.steps):
        loss = training_loss(model, schedule, tokens, mask, states, args.batch, args.diffusion_batch)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if (step + 1) % 100 == 0:
            print(f'step {step + 1}: loss {sum(losses[-100:]) / 100:.4f} ({(time.time() - started) / (step + 1):.3f} s/step)',
                  file=sys.stderr, flush=True)
    return losses, (time.time() - started) / max(args.steps, 1)


def permutation_for(index, num_states, mode, generator):
    """Permutation state of the index-th generated model: cycled through the states, or random."""
    if mode == 'cycle':
        return index % num_states
    return int(torch.randint(0, num_states, (1,), generator=generator))


def generate(model, schedule, tokenizer, num_states, args):
    """args.count models, model i (1-based) from seed i; returns [(state_dict, permutation state)]."""
    model.eval()
    out = []
    for i in range(1, args.count + 1):
        generator = torch.Generator().manual_seed(i)
        state = permutation_for(i - 1, num_states, args.perm, generator)
        with torch.no_grad():
            prototypes = model.prototypes(torch.tensor([state]))[0]
        if args.sampler == 'ddim':
            tokens = sample_ddim(model, schedule, prototypes, tokenizer.token_size, args.ddim_steps, args.eta, generator)
        else:
            tokens = sample_ddpm(model, schedule, prototypes, tokenizer.token_size, generator)
        out.append((tokenizer.decode(tokens), state))
    return out


def load_digits_helpers():
    """load_digits and accuracy from the sibling make-digits-zoo.py (one definition of the task's data)."""
    spec = importlib.util.spec_from_file_location('make_digits_zoo', os.path.join(HERE, 'make-digits-zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_digits, module.accuracy


def is_digits_mlp(state_dict):
    shapes = {name: tuple(t.shape) for name, t in state_dict.items()}
    return shapes == {'fc1.weight': (64, 64), 'fc1.bias': (64,), 'fc2.weight': (10, 64), 'fc2.bias': (10,)}


def summary(values):
    return {'best': round(max(values), 2), 'avg': round(sum(values) / len(values), 2), 'min': round(min(values), 2),
            'each': [round(v, 2) for v in values]}


def judge(generated, originals):
    """Test accuracy of generated and original models when they are digits-mlp models, else None."""
    if not is_digits_mlp(originals[0]):
        return None, None
    load_digits, accuracy = load_digits_helpers()
    _, _, x_test, y_test = load_digits()
    return (summary([accuracy(sd, x_test, y_test) for sd in generated]),
            summary([accuracy(sd, x_test, y_test) for sd in originals]))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--zoo', nargs='+', required=True, help='a zoo directory (zoo.json or *.pth) or .pth files')
    p.add_argument('--out', required=True, help='directory for the generated gen_{i}.pth')
    p.add_argument('--steps', type=int, default=1000)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--weight-decay', type=float, default=0.0, help='AdamW weight decay (reference: none)')
    p.add_argument('--batch', type=int, default=8, help='checkpoints per step')
    p.add_argument('--diffusion-batch', type=int, default=64, help='tokens per step, each with its own t; 0 = all tokens')
    p.add_argument('--token-size', type=int, default=256)
    p.add_argument('--width', type=int, default=256, help='recurrent width = embedding width')
    p.add_argument('--layers', type=int, default=2, help='LSTM layers')
    p.add_argument('--recurrent', choices=['lstm'], default='lstm')
    p.add_argument('--norm', choices=['batch', 'layer'], default='batch',
                   help='denoiser norm: BatchNorm1d, or LayerNorm over the channels at each position')
    p.add_argument('--sampler', choices=['ddim', 'ddpm'], default='ddim')
    p.add_argument('--ddim-steps', type=int, default=60)
    p.add_argument('--eta', type=float, default=0.05)
    p.add_argument('--count', type=int, default=10, help='models to generate, from seeds 1..count')
    p.add_argument('--perm', choices=['random', 'cycle'], default='random',
                   help='permutation state of each generated model: random (paper) or cycled')
    p.add_argument('--seed', type=int, default=0, help='seeds initialisation and training')
    p.add_argument('--threads', type=int, default=2)
    return p.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    originals, states, files = load_zoo(args.zoo)
    tokenizer = Tokenizer(originals, args.token_size)
    tokens = torch.stack([tokenizer.encode(sd) for sd in originals])  # [Z, L, token]
    mask = tokenizer.mask()
    num_states = int(states.max()) + 1
    model = RPG(tokenizer, num_states, args.width, args.layers, args.norm)
    schedule = Schedule()
    print(f'{len(files)} checkpoints, {num_states} permutation states, {tokenizer.num_tokens} tokens of {args.token_size}; '
          f'generator {sum(p.numel() for p in model.parameters())} params', file=sys.stderr, flush=True)

    losses, seconds_per_step = train(model, schedule, tokens, mask, states, args)
    generated = generate(model, schedule, tokenizer, num_states, args)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for i, (state_dict, _) in enumerate(generated, start=1):
        path = os.path.join(args.out, f'gen_{i}.pth')
        torch.save(state_dict, path)
        written.append(path)
    twin_accuracy, original_accuracy = judge([sd for sd, _ in generated], originals)

    windows = [losses[i:i + 100] for i in range(0, len(losses), 100)]
    config = {k: v for k, v in vars(args).items() if k not in ('zoo', 'out')}
    config.update({'checkpoints': len(files), 'permutationStates': num_states, 'tokens': tokenizer.num_tokens,
                   'generatorParams': sum(p.numel() for p in model.parameters())})
    print(json.dumps({
        'config': config,
        'steps': args.steps,
        'finalLoss': round(sum(windows[-1]) / len(windows[-1]), 5) if windows else None,  # mean of the last 100 steps
        'lossCurveEvery100': [round(sum(w) / len(w), 5) for w in windows],
        'secondsPerStep': round(seconds_per_step, 4),
        'generated': written,
        'permutationStates': [s for _, s in generated],
        'twinAccuracy': twin_accuracy,
        'originalAccuracy': original_accuracy,
    }))


if __name__ == '__main__':
    main()
