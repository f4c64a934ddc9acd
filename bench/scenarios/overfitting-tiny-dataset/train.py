"""Digits classifier on the 200 images we have labelled so far; TensorBoard logging."""
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.tensorboard import SummaryWriter

torch.manual_seed(3)
np.random.seed(3)

digits = load_digits()
X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
idx_train, idx_val = train_test_split(np.arange(len(X)), test_size=0.3, random_state=3, stratify=y)
labelled = idx_train[:200]
X_train, y_train = X[labelled], y[labelled]
X_val, y_val = X[idx_val], y[idx_val]

model = nn.Sequential(
    nn.Linear(64, 1024), nn.ReLU(),
    nn.Linear(1024, 1024), nn.ReLU(),
    nn.Linear(1024, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
writer = SummaryWriter("logs/tb")

step = 0
for epoch in range(150):
    model.train()
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), 32):
        batch = perm[start : start + 32]
        logits = model(X_train[batch])
        loss = loss_fn(logits, y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 5 == 0:
            writer.add_scalar("Loss/train", loss.item(), step)
            writer.add_scalar("Accuracy/train", (logits.argmax(1) == y_train[batch]).float().mean().item(), step)
    model.eval()
    with torch.no_grad():
        logits = model(X_val)
        writer.add_scalar("Loss/val", loss_fn(logits, y_val).item(), step)
        writer.add_scalar("Accuracy/val", (logits.argmax(1) == y_val).float().mean().item(), step)
writer.close()
