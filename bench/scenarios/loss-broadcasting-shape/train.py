"""Predict a house-price-like target from 8 features (synthetic), MSE regression."""
import numpy as np
import torch
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)

X, y = make_regression(n_samples=5000, n_features=8, n_informative=6, noise=10.0, random_state=0)
y = np.tanh(y / 150.0) * 2 + 0.1 * X[:, 0] ** 2  # mildly nonlinear target
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
y_train = torch.tensor(y_train, dtype=torch.float32)
y_val = torch.tensor(y_val, dtype=torch.float32)

model = nn.Sequential(nn.Linear(8, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()

step = 0
for epoch in range(20):
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), 64):
        idx = perm[start : start + 64]
        pred = model(X_train[idx])
        loss = criterion(pred, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 10 == 0:
            print(f"step {step} | loss {loss.item():.4f}")
    with torch.no_grad():
        val_pred = model(X_val).squeeze(1)
        val_mse = ((val_pred - y_val) ** 2).mean().item()
        r2 = 1 - val_mse / y_val.var().item()
    print(f"step {step} | epoch {epoch} | val_mse {val_mse:.4f} | val_r2 {r2:.4f}")
