"""Small CNN on sklearn's 8x8 digits; metrics go to a JSON-lines file."""
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(1)
rng = np.random.default_rng(1)

EPOCHS = 15
BATCH_SIZE = 64
LR = 1e-3


class DigitNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return F.softmax(self.fc2(x), dim=1)


digits = load_digits()
images = (digits.images / 16.0).astype(np.float32)[:, None]
X_train, X_val, y_train, y_val = train_test_split(
    images, digits.target, test_size=0.2, random_state=1, stratify=digits.target
)
X_train, X_val = torch.from_numpy(X_train), torch.from_numpy(X_val)
y_train, y_val = torch.from_numpy(y_train), torch.from_numpy(y_val)

model = DigitNet()
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
criterion = nn.CrossEntropyLoss()

Path("logs").mkdir(exist_ok=True)
log = open("logs/metrics.jsonl", "w")
step = 0
for epoch in range(EPOCHS):
    order = rng.permutation(len(X_train))
    for start in range(0, len(order), BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        out = model(X_train[idx])
        loss = criterion(out, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 5 == 0:
            acc = (out.argmax(1) == y_train[idx]).float().mean().item()
            log.write(json.dumps({"step": step, "epoch": epoch, "train/loss": loss.item(),
                                  "train/acc": acc, "timestamp": time.time()}) + "\n")
    model.eval()
    with torch.no_grad():
        out = model(X_val)
        val_loss = criterion(out, y_val).item()
        val_acc = (out.argmax(1) == y_val).float().mean().item()
    model.train()
    log.write(json.dumps({"step": step, "epoch": epoch, "val/loss": val_loss, "val/acc": val_acc,
                          "timestamp": time.time()}) + "\n")
    log.flush()
log.close()
