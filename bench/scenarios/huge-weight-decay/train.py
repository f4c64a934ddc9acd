"""Digits classifier with AdamW; hyperparameters from our sweep config; plain CSV log."""
import csv
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(0)

hparams = {"lr": 1e-3, "weight_decay": 0.1, "batch_size": 64, "epochs": 30, "hidden": 256}

digits = load_digits()
X_train, X_val, y_train, y_val = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.2, random_state=0, stratify=digits.target
)
X_train, X_val = torch.tensor(X_train, dtype=torch.float32), torch.tensor(X_val, dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

model = nn.Sequential(
    nn.Linear(64, hparams["hidden"]), nn.ReLU(),
    nn.Linear(hparams["hidden"], hparams["hidden"]), nn.ReLU(),
    nn.Linear(hparams["hidden"], 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=hparams["lr"], weight_decay=hparams["weight_decay"])
loss_fn = nn.CrossEntropyLoss()

Path("logs").mkdir(exist_ok=True)
with open("logs/train_metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["step", "epoch", "loss", "accuracy", "weight_norm", "val_loss", "val_accuracy"])
    step = 0
    for epoch in range(hparams["epochs"]):
        perm = torch.randperm(len(X_train))
        for start in range(0, len(perm), hparams["batch_size"]):
            idx = perm[start : start + hparams["batch_size"]]
            logits = model(X_train[idx])
            loss = loss_fn(logits, y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        weight_norm = torch.sqrt(sum(p.detach().pow(2).sum() for p in model.parameters())).item()
        with torch.no_grad():
            val_logits = model(X_val)
            val_loss = loss_fn(val_logits, y_val).item()
            val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
        acc = (logits.argmax(1) == y_train[idx]).float().mean().item()
        writer.writerow([step, epoch, f"{loss.item():.5f}", f"{acc:.4f}", f"{weight_norm:.4f}",
                         f"{val_loss:.5f}", f"{val_acc:.4f}"])
