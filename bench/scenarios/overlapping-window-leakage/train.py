"""Forecast the next value of a sensor series from the previous 48 readings; CSV log."""
import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(0)
rng = np.random.default_rng(0)

WINDOW = 48

# one long sensor trace: slow drift + daily cycle + AR(1) noise
n = 12000
t = np.arange(n)
noise = np.zeros(n)
for i in range(1, n):
    noise[i] = 0.95 * noise[i - 1] + rng.normal(0, 0.3)
series = 0.0003 * t + np.sin(2 * np.pi * t / 96) + 0.5 * np.sin(2 * np.pi * t / 700) + noise
series = (series - series[:8000].mean()) / series[:8000].std()

# the last 4000 readings are the true future, kept aside as the test period
history, future = series[:8000], series[8000 - WINDOW:]


def make_windows(values):
    X = np.stack([values[i : i + WINDOW] for i in range(len(values) - WINDOW)])
    return X.astype(np.float32), values[WINDOW:].astype(np.float32)


X, y = make_windows(history)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0, shuffle=True)
X_test, y_test = make_windows(future)
X_train, X_val, X_test = map(torch.from_numpy, (X_train, X_val, X_test))
y_train, y_val, y_test = map(torch.from_numpy, (y_train, y_val, y_test))

model = nn.Sequential(nn.Linear(WINDOW, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

Path("logs").mkdir(exist_ok=True)
with open("logs/metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["epoch", "train_loss", "val_loss", "test_loss"])
    for epoch in range(60):
        perm = torch.randperm(len(X_train))
        total = 0.0
        for start in range(0, len(perm), 64):
            idx = perm[start : start + 64]
            loss = loss_fn(model(X_train[idx]).squeeze(1), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            val_loss = loss_fn(model(X_val).squeeze(1), y_val).item()
            test_loss = loss_fn(model(X_test).squeeze(1), y_test).item() if epoch == 59 else ""
        writer.writerow([epoch, f"{total / len(X_train):.5f}", f"{val_loss:.5f}",
                         f"{test_loss:.5f}" if test_loss != "" else ""])
