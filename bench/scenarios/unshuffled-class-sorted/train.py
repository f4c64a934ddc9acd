"""Digits classifier; data comes from a class-ordered export (one file per digit)."""
import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

digits = load_digits()
# The export is grouped by class: all 0s, then all 1s, ...
order = np.argsort(digits.target, kind="stable")
X_all = torch.tensor(digits.data[order] / 16.0, dtype=torch.float32)
y_all = torch.tensor(digits.target[order])
is_val = torch.zeros(len(y_all), dtype=torch.bool)
is_val[::5] = True
train_ds = TensorDataset(X_all[~is_val], y_all[~is_val])
val_ds = TensorDataset(X_all[is_val], y_all[is_val])

train_loader = DataLoader(train_ds, batch_size=32, shuffle=False)
val_loader = DataLoader(val_ds, batch_size=256)

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

Path("logs/version_0").mkdir(parents=True, exist_ok=True)
with open("logs/version_0/metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc"])
    step = 0
    for epoch in range(10):
        model.train()
        for xb, yb in train_loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 4 == 0:
                acc = (logits.argmax(1) == yb).float().mean().item()
                writer.writerow([epoch, step, f"{loss.item():.5f}", f"{acc:.4f}", "", ""])
            step += 1
        model.eval()
        with torch.no_grad():
            xb, yb = val_ds.tensors
            logits = model(xb)
            val_loss = loss_fn(logits, yb).item()
            val_acc = (logits.argmax(1) == yb).float().mean().item()
        writer.writerow([epoch, step - 1, "", "", f"{val_loss:.5f}", f"{val_acc:.4f}"])
