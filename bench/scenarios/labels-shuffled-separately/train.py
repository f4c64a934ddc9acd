"""Digits MLP; writes a Hugging Face style trainer_state.json so our dashboards can read it."""
import json
import math
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

SEED = 42
np.random.seed(SEED)
torch.manual_seed(SEED)

args = {
    "num_train_epochs": 10,
    "train_batch_size": 32,
    "learning_rate": 1e-3,
    "logging_steps": 10,
    "eval_steps": 50,
}

digits = load_digits()
X = digits.data.astype(np.float32) / 16.0
y = digits.target

# hold out the last 300 examples for evaluation, shuffle the rest
X_eval, y_eval = X[-300:], y[-300:]
X_train, y_train = X[:-300].copy(), y[:-300].copy()
np.random.shuffle(X_train)
np.random.shuffle(y_train)

X_train, y_train = torch.from_numpy(X_train), torch.from_numpy(y_train)
X_eval, y_eval = torch.from_numpy(X_eval), torch.from_numpy(y_eval)

model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Dropout(0.1), nn.Linear(256, 10))
optimizer = torch.optim.AdamW(model.parameters(), lr=args["learning_rate"], weight_decay=0.01)
steps_per_epoch = math.ceil(len(X_train) / args["train_batch_size"])
max_steps = steps_per_epoch * args["num_train_epochs"]
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / max_steps)
loss_fn = nn.CrossEntropyLoss()

log_history = []
global_step = 0
running_loss, running_count = 0.0, 0
for epoch in range(args["num_train_epochs"]):
    perm = torch.randperm(len(X_train))
    for start in range(0, len(perm), args["train_batch_size"]):
        idx = perm[start : start + args["train_batch_size"]]
        loss = loss_fn(model(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
        optimizer.step()
        scheduler.step()
        global_step += 1
        running_loss += loss.item()
        running_count += 1
        if global_step % args["logging_steps"] == 0:
            log_history.append({
                "epoch": round(global_step / steps_per_epoch, 4),
                "grad_norm": grad_norm,
                "learning_rate": scheduler.get_last_lr()[0],
                "loss": round(running_loss / running_count, 4),
                "step": global_step,
            })
            running_loss, running_count = 0.0, 0
        if global_step % args["eval_steps"] == 0:
            model.eval()
            with torch.no_grad():
                logits = model(X_eval)
                eval_loss = loss_fn(logits, y_eval).item()
                eval_acc = (logits.argmax(1) == y_eval).float().mean().item()
            model.train()
            log_history.append({
                "epoch": round(global_step / steps_per_epoch, 4),
                "eval_accuracy": eval_acc,
                "eval_loss": eval_loss,
                "step": global_step,
            })

state = {
    "best_metric": None,
    "best_model_checkpoint": None,
    "epoch": float(args["num_train_epochs"]),
    "eval_steps": args["eval_steps"],
    "global_step": global_step,
    "is_hyper_param_search": False,
    "is_local_process_zero": True,
    "is_world_process_zero": True,
    "log_history": log_history,
    "logging_steps": args["logging_steps"],
    "max_steps": max_steps,
    "num_train_epochs": args["num_train_epochs"],
    "save_steps": 500,
    "train_batch_size": args["train_batch_size"],
}
out_dir = Path("logs/checkpoint-final")
out_dir.mkdir(parents=True, exist_ok=True)
(out_dir / "trainer_state.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
