"""Fine-tune-style run of a small MLP on synthetic 5-class data; HF-style trainer_state.json."""
import json
from pathlib import Path

import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

torch.manual_seed(0)

training_args = {
    "learning_rate": 1e-6,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 8,
    "logging_steps": 10,
    "eval_steps": 100,
    "warmup_steps": 50,
}

X, y = make_classification(n_samples=6000, n_features=30, n_informative=15, n_classes=5,
                           n_clusters_per_class=1, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

model = nn.Sequential(nn.Linear(30, 256), nn.GELU(), nn.Linear(256, 256), nn.GELU(), nn.Linear(256, 5))
optimizer = torch.optim.AdamW(model.parameters(), lr=training_args["learning_rate"], weight_decay=0.01)
bs = training_args["per_device_train_batch_size"]
steps_per_epoch = len(X_train) // bs
max_steps = steps_per_epoch * training_args["num_train_epochs"]
warmup = training_args["warmup_steps"]
scheduler = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (max_steps - s) / (max_steps - warmup))
)
loss_fn = nn.CrossEntropyLoss()

log_history, step, window = [], 0, []
for epoch in range(training_args["num_train_epochs"]):
    perm = torch.randperm(len(X_train))
    for i in range(steps_per_epoch):
        idx = perm[i * bs : (i + 1) * bs]
        loss = loss_fn(model(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
        optimizer.step()
        scheduler.step()
        step += 1
        window.append(loss.item())
        if step % training_args["logging_steps"] == 0:
            log_history.append({"epoch": round(step / steps_per_epoch, 2), "grad_norm": grad_norm,
                                "learning_rate": scheduler.get_last_lr()[0],
                                "loss": round(sum(window) / len(window), 4), "step": step})
            window = []
        if step % training_args["eval_steps"] == 0:
            with torch.no_grad():
                logits = model(X_val)
                log_history.append({"epoch": round(step / steps_per_epoch, 2),
                                    "eval_loss": loss_fn(logits, y_val).item(),
                                    "eval_accuracy": (logits.argmax(1) == y_val).float().mean().item(),
                                    "step": step})

Path("logs").mkdir(exist_ok=True)
state = {"best_metric": None, "epoch": float(training_args["num_train_epochs"]), "global_step": step,
         "max_steps": max_steps, "logging_steps": training_args["logging_steps"],
         "eval_steps": training_args["eval_steps"], "train_batch_size": bs,
         "num_train_epochs": training_args["num_train_epochs"], "log_history": log_history}
Path("logs/trainer_state.json").write_text(json.dumps(state, indent=2) + "\n")
