"""Tabular classifier with BatchNorm and dropout, printing Trainer-style dicts."""
import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)

X, y = make_classification(
    n_samples=3000, n_features=40, n_informative=10, n_redundant=10,
    n_classes=4, n_clusters_per_class=2, flip_y=0.05, random_state=0,
)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)


class Classifier(nn.Module):
    def __init__(self, d_in, hidden=512, n_classes=4, p_drop=0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def validate(model):
    model.eval()
    with torch.no_grad():
        logits = model(X_val)
        loss = nn.functional.cross_entropy(logits, y_val).item()
        acc = (logits.argmax(1) == y_val).float().mean().item()
    return loss, acc


model = Classifier(X_train.shape[1])
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
epochs, batch_size = 30, 64
steps_per_epoch = len(X_train) // batch_size
model.train()
for epoch in range(epochs):
    perm = torch.randperm(len(X_train))
    losses = []
    for i in range(steps_per_epoch):
        idx = perm[i * batch_size : (i + 1) * batch_size]
        loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (i + 1) % 10 == 0:
            print({"loss": round(float(np.mean(losses[-10:])), 4),
                   "learning_rate": optimizer.param_groups[0]["lr"],
                   "epoch": round(epoch + (i + 1) / steps_per_epoch, 2)})
    val_loss, val_acc = validate(model)
    print({"eval_loss": round(val_loss, 4), "eval_accuracy": round(val_acc, 4),
           "epoch": float(epoch + 1)})
