"""VQ-VAE on 8x8 digits with a 128-entry codebook; metrics as JSON lines."""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

torch.manual_seed(0)

CODEBOOK_SIZE = 128
CODE_DIM = 16
N_LATENTS = 4  # each image becomes 4 discrete codes
BETA = 0.25
STEPS = 2000
BATCH_SIZE = 128


class VectorQuantizer(nn.Module):
    def __init__(self, num_codes, dim, beta):
        super().__init__()
        self.beta = beta
        self.codebook = nn.Embedding(num_codes, dim)

    def forward(self, z):
        flat = z.reshape(-1, z.shape[-1])
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.weight.t()
                     + self.codebook.weight.pow(2).sum(1))
        codes = distances.argmin(1)
        quantized = self.codebook(codes).view_as(z)
        codebook_loss = F.mse_loss(quantized, z.detach())
        commitment_loss = F.mse_loss(z, quantized.detach())
        quantized = z + (quantized - z).detach()
        return quantized, codes, codebook_loss + self.beta * commitment_loss


class VQVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, N_LATENTS * CODE_DIM))
        self.vq = VectorQuantizer(CODEBOOK_SIZE, CODE_DIM, BETA)
        self.decoder = nn.Sequential(nn.Linear(N_LATENTS * CODE_DIM, 256), nn.ReLU(), nn.Linear(256, 64))

    def forward(self, x):
        z = self.encoder(x).view(-1, N_LATENTS, CODE_DIM)
        quantized, codes, vq_loss = self.vq(z)
        return self.decoder(quantized.flatten(1)), codes, vq_loss


data = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
train, val = data[:1500], data[1500:]
model = VQVAE()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

Path("logs").mkdir(exist_ok=True)
with open("logs/metrics.jsonl", "w") as log:
    generator = torch.Generator().manual_seed(0)
    for step in range(1, STEPS + 1):
        x = train[torch.randint(0, len(train), (BATCH_SIZE,), generator=generator)]
        recon, codes, vq_loss = model(x)
        recon_loss = F.mse_loss(recon, x)
        loss = recon_loss + vq_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            counts = torch.bincount(codes, minlength=CODEBOOK_SIZE).float()
            probs = counts / counts.sum()
            perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum()).item()
            record = {"step": step, "loss": loss.item(), "recon_loss": recon_loss.item(),
                      "vq_loss": vq_loss.item(), "perplexity": perplexity,
                      "codebook_usage": int((counts > 0).sum().item()) / CODEBOOK_SIZE}
            if step % 100 == 0:
                with torch.no_grad():
                    val_recon, _, _ = model(val)
                    record["val_recon_loss"] = F.mse_loss(val_recon, val).item()
            log.write(json.dumps(record) + "\n")
