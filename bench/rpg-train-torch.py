# PyTorch peer of bench/rpg-train.ts for the 'tiny' preset (same shapes: 39 tokens of 256, batch 8
# checkpoints, 64 denoised tokens per step, LSTM 2×256, denoiser 1→32→64→128→64→32→1 kernel 7).
# Prints ms per step. Run: OPENBLAS_NUM_THREADS=2 [TORCH_THREADS=2] [PRESET=tiny-slim] /usr/bin/python3 bench/rpg-train-torch.py [steps]
import json, math, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
S, L, D, B, T = 256, 39, 256, 8, 1000
# PRESET=tiny-slim: the 'tiny-slim' preset's denoiser (channels halved, 32 tokens per step).
SLIM = os.environ.get("PRESET") == "tiny-slim"
N = 32 if SLIM else 64
CH = [16, 32, 64, 32, 16] if SLIM else [32, 64, 128, 64, 32]

class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.t1, self.t2 = nn.Linear(256, S), nn.Linear(S, S)
        self.cond = nn.Linear(D, S)
        chain = [1] + CH + [1]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, 7, padding=3) for a, b in zip(chain[:-1], chain[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(c) for c in CH)
    def forward(self, x, temb, proto):
        time = self.t2(F.silu(self.t1(temb)))[:, None, :]
        cond = self.cond(proto)[:, None, :]
        h = x[:, None, :]
        outs = []
        for i, conv in enumerate(self.convs):
            h = conv((h + cond) * time)
            if i < len(self.norms):
                h = F.elu(self.norms[i](h.transpose(1, 2)).transpose(1, 2))
            if i == 3: h = h + outs[1]
            if i == 4: h = h + outs[0]
            outs.append(h)
        return h[:, 0, :]

class Gen(nn.Module):
    def __init__(self):
        super().__init__()
        self.perm = nn.Embedding(50, D)
        self.pos = nn.Parameter(torch.randn(1, L, D) * 0.1, requires_grad=False)
        self.lstm = nn.LSTM(D, D, num_layers=2, batch_first=True)
        self.den = Denoiser()

gen = Gen()
opt = torch.optim.AdamW([p for p in gen.parameters() if p.requires_grad], lr=1e-3, weight_decay=2e-6)
betas = torch.linspace(1e-4, 0.02, T)
abar = torch.cumprod(1 - betas, 0)
zoo = torch.randn(50, L, S)
freqs = torch.exp(-math.log(10000) * torch.arange(128) / 128)

def step():
    idx = torch.randperm(50)[:B]
    protos, _ = gen.lstm(gen.pos + gen.perm(idx)[:, None, :])
    flat = protos.reshape(B * L, D)
    chosen = torch.randperm(B * L)[:N]
    x0 = zoo[idx].reshape(B * L, S)[chosen]
    t = torch.randint(0, T, (N,))
    eps = torch.randn(N, S)
    a = abar[t][:, None]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    ang = t[:, None].float() * freqs[None]
    temb = torch.cat([ang.sin(), ang.cos()], 1)
    loss = F.mse_loss(gen.den(xt, temb, flat[chosen]), eps)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
    opt.step()
    return loss.item()

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
step()
start = time.time()
for _ in range(steps): step()
ms = (time.time() - start) / steps * 1000
print(json.dumps({"preset": "tiny-slim" if SLIM else "tiny", "torch": torch.__version__, "threads": torch.get_num_threads(), "ms_per_step": round(ms), "tokens_per_s": round(N / ms * 1000)}))
