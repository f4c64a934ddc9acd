"""Digit classifier (sklearn digits, 8x8) with a plain PyTorch loop and a CSV log."""
import csv
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

EPOCHS = 12
BATCH_SIZE = 32
LR = 0.01

digits = load_digits()
X = digits.data / 16.0
X_train, X_val, y_train, y_val = train_test_split(
    X, digits.target, test_size=0.25, random_state=0, stratify=digits.target
)
train_ds = TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train))
val_ds = TensorDataset(torch.tensor(X_val, dtype=torch.float32), torch.tensor(y_val))
train_loader = DataLoader(train_ds, batch_size=BATCH_SIZE, shuffle=True)
val_loader = DataLoader(val_ds, batch_size=256)

model = nn.Sequential(
    nn.Linear(64, 128),
    nn.ReLU(),
    nn.Linear(128, 128),
    nn.ReLU(),
    nn.Linear(128, 10),
)
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
criterion = nn.CrossEntropyLoss()


def evaluate():
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for xb, yb in val_loader:
            logits = model(xb)
            total_loss += criterion(logits, yb).item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
    model.train()
    return total_loss / len(val_ds), correct / len(val_ds)


log_dir = Path("logs")
log_dir.mkdir(exist_ok=True)
with open(log_dir / "metrics.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=["epoch", "step", "train_loss", "val_loss", "val_acc"])
    writer.writeheader()
    step = 0
    for epoch in range(EPOCHS):
        model.train()
        for xb, yb in train_loader:
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            step += 1
            if step % 5 == 0:
                writer.writerow({"epoch": epoch, "step": step, "train_loss": f"{loss.item():.6f}"})
        val_loss, val_acc = evaluate()
        writer.writerow(
            {"epoch": epoch, "step": step, "val_loss": f"{val_loss:.6f}", "val_acc": f"{val_acc:.4f}"}
        )
