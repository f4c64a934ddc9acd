"""Binary classifier (synthetic, well separated) with a hand-written BCE so we can weight positives."""
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)

POS_WEIGHT = 2.0

X, y = make_classification(n_samples=6000, n_features=16, n_informative=8, class_sep=2.5,
                           flip_y=0.0, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
y_train = torch.tensor(y_train, dtype=torch.float32)
y_val = torch.tensor(y_val, dtype=torch.float32)


def weighted_bce(logits, target):
    p = torch.sigmoid(logits)
    return -(POS_WEIGHT * target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

step = 0
for epoch in range(8):
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), 64):
        idx = perm[start : start + 64]
        logits = model(X_train[idx]).squeeze(1)
        loss = weighted_bce(logits, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 10 == 0:
            print(f"step {step} | loss {loss.item():.5f} | max_logit {logits.abs().max().item():.2f}")
    with torch.no_grad():
        val_logits = model(X_val).squeeze(1)
        val_loss = weighted_bce(val_logits, y_val).item()
        val_acc = ((val_logits > 0).float() == y_val).float().mean().item()
    print(f"step {step} | epoch {epoch} | val_loss {val_loss:.5f} | val_acc {val_acc:.4f}")
