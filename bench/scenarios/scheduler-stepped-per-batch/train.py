"""Digits CNN with a step LR schedule (decay x0.1 every 10 epochs); JSON-lines log."""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

EPOCHS = 30
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
X_train, X_val, y_train, y_val = train_test_split(images, torch.tensor(digits.target), test_size=0.2, random_state=0)
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(128, 10),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)

Path("logs").mkdir(exist_ok=True)
with open("logs/metrics.jsonl", "w") as log:
    step = 0
    for epoch in range(EPOCHS):
        model.train()
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 10 == 0:
                log.write(json.dumps({"step": step, "epoch": epoch, "train_loss": loss.item(),
                                      "lr": optimizer.param_groups[0]["lr"]}) + "\n")
        model.eval()
        with torch.no_grad():
            logits = model(X_val)
            log.write(json.dumps({"step": step, "epoch": epoch,
                                  "val_loss": F.cross_entropy(logits, y_val).item(),
                                  "val_acc": (logits.argmax(1) == y_val).float().mean().item()}) + "\n")
