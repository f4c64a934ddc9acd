"""Fraud-style binary classifier on synthetic transactions (about 3% positives)."""
import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)

X, y = make_classification(n_samples=20000, n_features=20, n_informative=6, weights=[0.97, 0.03],
                           class_sep=0.6, flip_y=0.0, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
y_train_t = torch.tensor(y_train, dtype=torch.float32)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.BCEWithLogitsLoss()

step = 0
for epoch in range(10):
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), 128):
        idx = perm[start : start + 128]
        logits = model(X_train[idx]).squeeze(1)
        loss = loss_fn(logits, y_train_t[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 10 == 0:
            acc = ((logits > 0).float() == y_train_t[idx]).float().mean().item()
            print(f"step {step} | loss {loss.item():.4f} | acc {acc:.4f}")
    with torch.no_grad():
        val_pred = (model(X_val).squeeze(1) > 0).numpy().astype(int)
    val_acc = float((val_pred == y_val).mean())
    print(f"step {step} | epoch {epoch} | val_acc {val_acc:.4f} | val_recall_pos "
          f"{recall_score(y_val, val_pred, zero_division=0):.4f} | val_f1 {f1_score(y_val, val_pred, zero_division=0):.4f} "
          f"| predicted_pos_rate {val_pred.mean():.4f}")
