"""ReLU MLP regression on a synthetic 10-feature task, logging to TensorBoard."""
import torch
from sklearn.datasets import make_friedman1
from torch import nn
from torch.utils.tensorboard import SummaryWriter

torch.manual_seed(0)

HIDDEN = 256
LR = 0.03
STEPS = 1500
BATCH_SIZE = 128

X, y = make_friedman1(n_samples=8000, n_features=10, noise=0.5, random_state=0)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32).unsqueeze(1)
X_train, y_train, X_val, y_val = X[:7000], y[:7000], X[7000:], y[7000:]

model = nn.Sequential(
    nn.Linear(10, HIDDEN), nn.ReLU(),
    nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
    nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
    nn.Linear(HIDDEN, 1),
)
relus = [m for m in model if isinstance(m, nn.ReLU)]
activations = {}
for i, relu in enumerate(relus):
    relu.register_forward_hook(lambda mod, inp, out, i=i: activations.__setitem__(i, out.detach()))

optimizer = torch.optim.Adam(model.parameters(), lr=LR)
loss_fn = nn.MSELoss()
writer = SummaryWriter("logs/tensorboard")
generator = torch.Generator().manual_seed(0)

for step in range(1, STEPS + 1):
    idx = torch.randint(0, len(X_train), (BATCH_SIZE,), generator=generator)
    loss = loss_fn(model(X_train[idx]), y_train[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        writer.add_scalar("train/loss", loss.item(), step)
        with torch.no_grad():
            val_loss = loss_fn(model(X_val), y_val).item()
            # a unit is dead if it outputs zero for every validation example
            dead = [(activations[i] <= 0).all(0).float().mean().item() for i in range(len(relus))]
        writer.add_scalar("val/loss", val_loss, step)
        for i, fraction in enumerate(dead):
            writer.add_scalar(f"relu{i}/dead_fraction", fraction, step)
writer.close()
