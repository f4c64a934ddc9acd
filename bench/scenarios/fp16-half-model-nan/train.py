"""Digits MLP trained in half precision to halve memory (the real model is much larger)."""
import math

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(0)

DTYPE = torch.float16
BATCH_SIZE = 128
LR = 1e-3
STEPS = 600

digits = load_digits()
X_train, X_val, y_train, y_val = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.2, random_state=0
)
X_train = torch.tensor(X_train, dtype=DTYPE)
X_val = torch.tensor(X_val, dtype=DTYPE)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

model = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(),
    nn.Linear(256, 256), nn.ReLU(),
    nn.Linear(256, 10),
).to(DTYPE)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)

generator = torch.Generator().manual_seed(0)
for step in range(1, STEPS + 1):
    idx = torch.randint(0, len(X_train), (BATCH_SIZE,), generator=generator)
    loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
    optimizer.zero_grad()
    loss.backward()
    grad_norm = math.sqrt(sum(float(p.grad.float().pow(2).sum()) for p in model.parameters()))
    optimizer.step()
    if step % 5 == 0:
        print(f"step {step} | loss {loss.item():.4f} | grad_norm {grad_norm:.4f} | lr {LR:.0e}")
    if step % 100 == 0:
        with torch.no_grad():
            logits = model(X_val)
            val_loss = nn.functional.cross_entropy(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        print(f"step {step} | val_loss {val_loss:.4f} | val_acc {val_acc:.4f}")
