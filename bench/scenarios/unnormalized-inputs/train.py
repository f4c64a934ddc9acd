"""Predict machine state (4 classes) from raw sensor readings, Keras-style CSV log."""
import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 7
torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)

# Simulated sensor table: temperature (K), pressure (Pa), rpm, vibration (um), current (mA), ...
features, labels = make_classification(
    n_samples=4000, n_features=12, n_informative=8, n_redundant=2,
    n_classes=4, class_sep=1.5, random_state=SEED,
)
units_scale = np.array([15.0, 2500.0, 300.0, 40.0, 120.0, 8.0, 900.0, 60.0, 30000.0, 5.0, 75.0, 400.0])
units_offset = np.array([300.0, 101325.0, 1500.0, 100.0, 800.0, 20.0, 5000.0, 0.0, 2e5, 50.0, 0.0, 1000.0])
readings = features * units_scale + units_offset

X_train, X_val, y_train, y_val = train_test_split(readings, labels, test_size=0.2, random_state=SEED)
X_train = torch.tensor(X_train, dtype=torch.float32)
X_val = torch.tensor(X_val, dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

model = nn.Sequential(
    nn.Linear(12, 64), nn.Tanh(),
    nn.Linear(64, 64), nn.Tanh(),
    nn.Linear(64, 4),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

Path("logs").mkdir(exist_ok=True)
with open("logs/training_log.csv", "w", newline="") as f:
    log = csv.writer(f)
    log.writerow(["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
    for epoch in range(40):
        perm = torch.randperm(len(X_train))
        total, correct, seen = 0.0, 0, 0
        for start in range(0, len(perm), 32):
            idx = perm[start : start + 32]
            logits = model(X_train[idx])
            loss = loss_fn(logits, y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y_train[idx]).sum().item()
            seen += len(idx)
        with torch.no_grad():
            val_logits = model(X_val)
            val_loss = loss_fn(val_logits, y_val).item()
            val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
        log.writerow([epoch, f"{correct / seen:.4f}", f"{total / seen:.4f}", f"{val_acc:.4f}", f"{val_loss:.4f}"])
