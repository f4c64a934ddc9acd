"""Deep fully connected classifier for sklearn digits (testing depth vs accuracy)."""
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(0)

DEPTH = 12
WIDTH = 128
LR = 0.05
EPOCHS = 25
BATCH_SIZE = 64

digits = load_digits()
X_train, X_val, y_train, y_val = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.2, random_state=0
)
X_train, X_val = torch.tensor(X_train, dtype=torch.float32), torch.tensor(X_val, dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

layers = [nn.Linear(64, WIDTH), nn.Sigmoid()]
for _ in range(DEPTH - 1):
    layers += [nn.Linear(WIDTH, WIDTH), nn.Sigmoid()]
layers.append(nn.Linear(WIDTH, 10))
model = nn.Sequential(*layers)
linears = [m for m in model if isinstance(m, nn.Linear)]

optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

step = 0
for epoch in range(EPOCHS):
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), BATCH_SIZE):
        idx = perm[start : start + BATCH_SIZE]
        loss = loss_fn(model(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 5 == 0:
            first = linears[0].weight.grad.norm().item()
            last = linears[-1].weight.grad.norm().item()
            print(f"step {step} | loss {loss.item():.4f} | grad_norm_first {first:.3e} "
                  f"| grad_norm_last {last:.3e} | lr {LR}")
    with torch.no_grad():
        val_logits = model(X_val)
        val_loss = loss_fn(val_logits, y_val).item()
        val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
    print(f"step {step} | epoch {epoch} | val_loss {val_loss:.4f} | val_acc {val_acc:.4f}")
