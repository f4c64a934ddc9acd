"""Vanilla GAN on a ring of 8 Gaussians (2-D toy problem), CSV log."""
import csv
import math
from pathlib import Path

import torch
from torch import nn

torch.manual_seed(0)

N_MODES = 8
RADIUS = 2.0
MODE_STD = 0.05
Z_DIM = 2
BATCH_SIZE = 256
STEPS = 2000
LR_D = 1e-3
LR_G = 1e-3
G_STEPS = 5
centers = torch.tensor([[RADIUS * math.cos(2 * math.pi * k / N_MODES),
                         RADIUS * math.sin(2 * math.pi * k / N_MODES)] for k in range(N_MODES)])


def sample_real(n):
    which = torch.randint(0, N_MODES, (n,))
    return centers[which] + MODE_STD * torch.randn(n, 2)


def modes_covered(samples):
    dist = torch.cdist(samples, centers)
    nearest = dist.argmin(1)
    close = dist.min(1).values < 3 * MODE_STD
    counts = torch.bincount(nearest[close], minlength=N_MODES)
    return int((counts > 0.02 * len(samples)).sum()), close.float().mean().item()


G = nn.Sequential(nn.Linear(Z_DIM, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
D = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=LR_G, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=LR_D, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()

Path("logs").mkdir(exist_ok=True)
with open("logs/gan_metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["step", "d_loss", "g_loss", "d_real", "d_fake", "modes_covered", "high_quality_frac", "sample_std"])
    for step in range(1, STEPS + 1):
        real = sample_real(BATCH_SIZE)
        fake = G(torch.randn(BATCH_SIZE, Z_DIM))
        d_real, d_fake = D(real), D(fake.detach())
        d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        for _ in range(G_STEPS):
            g_out = D(G(torch.randn(BATCH_SIZE, Z_DIM)))
            g_loss = bce(g_out, torch.ones_like(g_out))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()

        if step % 20 == 0:
            with torch.no_grad():
                samples = G(torch.randn(2000, Z_DIM))
                covered, quality = modes_covered(samples)
                writer.writerow([step, f"{d_loss.item():.4f}", f"{g_loss.item():.4f}",
                                 f"{torch.sigmoid(d_real).mean().item():.4f}",
                                 f"{torch.sigmoid(d_fake).mean().item():.4f}",
                                 covered, f"{quality:.4f}", f"{samples.std(0).mean().item():.4f}"])
