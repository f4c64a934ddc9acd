"""Fit an MLP to the California-housing-style synthetic regression task."""
import math

import numpy as np
import torch
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)
np.random.seed(0)

config = dict(
    hidden=256,
    depth=3,
    batch_size=64,
    lr=0.15,
    momentum=0.9,
    steps=600,
    log_every=10,
    eval_every=100,
)

X, y = make_regression(n_samples=6000, n_features=20, n_informative=12, noise=5.0, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
y_mean, y_std = y_train.mean(), y_train.std()
y_train, y_val = (y_train - y_mean) / y_std, (y_val - y_mean) / y_std

X_train = torch.tensor(X_train, dtype=torch.float32)
y_train = torch.tensor(y_train, dtype=torch.float32).unsqueeze(1)
X_val = torch.tensor(X_val, dtype=torch.float32)
y_val = torch.tensor(y_val, dtype=torch.float32).unsqueeze(1)

layers, width = [], X_train.shape[1]
for _ in range(config["depth"]):
    layers += [nn.Linear(width, config["hidden"]), nn.ReLU()]
    width = config["hidden"]
model = nn.Sequential(*layers, nn.Linear(width, 1))

optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
loss_fn = nn.MSELoss()

print(f"config: {config}")
generator = torch.Generator().manual_seed(0)
for step in range(1, config["steps"] + 1):
    idx = torch.randint(0, len(X_train), (config["batch_size"],), generator=generator)
    loss = loss_fn(model(X_train[idx]), y_train[idx])
    optimizer.zero_grad()
    loss.backward()
    grad_norm = math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters()))
    optimizer.step()

    if step % config["log_every"] == 0:
        lr = optimizer.param_groups[0]["lr"]
        print(f"step {step} | loss {loss.item():.4f} | grad_norm {grad_norm:.3f} | lr {lr:.2e}")
    if step % config["eval_every"] == 0:
        with torch.no_grad():
            val_loss = loss_fn(model(X_val), y_val).item()
        print(f"step {step} | val_loss {val_loss:.4f}")
