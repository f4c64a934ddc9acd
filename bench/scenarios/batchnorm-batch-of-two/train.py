"""Prototype of our scan classifier on sklearn's digits.

The real scans are 512x512 and only two fit on the GPU at once, so the prototype trains
with the same batch size. Writes one JSON line per epoch to logs/metrics.jsonl.
"""
import json
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
np.random.seed(0)

BATCH_SIZE = 2
EPOCHS = 8
LR = 1e-3

digits = load_digits()
X = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(digits.target)
idx_train, idx_val = train_test_split(np.arange(len(X)), test_size=0.2, random_state=0, stratify=y)
train_loader = DataLoader(
    TensorDataset(X[idx_train], y[idx_train]), batch_size=BATCH_SIZE, shuffle=True, drop_last=True
)
X_val, y_val = X[idx_val], y[idx_val]


class ScanNet(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 128), nn.BatchNorm1d(128), nn.ReLU(),
            nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Linear(64, n_classes),
        )

    def forward(self, x):
        return self.head(self.features(x))


model = ScanNet()
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
loss_fn = nn.CrossEntropyLoss()

with open("logs/metrics.jsonl", "w") as log:
    step = 0
    for epoch in range(1, EPOCHS + 1):
        model.train()
        started = time.time()
        total_loss, total_correct, seen = 0.0, 0, 0
        for xb, yb in train_loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            total_loss += loss.item() * len(yb)
            total_correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        model.eval()
        with torch.no_grad():
            val_logits = model(X_val)
            val_loss = loss_fn(val_logits, y_val).item()
            val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
        record = {
            "epoch": epoch,
            "step": step,
            "train_loss": round(total_loss / seen, 4),
            "train_acc": round(total_correct / seen, 4),
            "val_loss": round(val_loss, 4),
            "val_acc": round(val_acc, 4),
            "lr": LR,
            "epoch_time_s": round(time.time() - started, 2),
        }
        log.write(json.dumps(record) + "\n")
        log.flush()
