#!/usr/bin/env python3
"""Regenerates the metric logs of the shipped examples (deterministic, stdlib only).

The curves imitate real failing runs: each example's README.md says what was
simulated and which failure the tool should find.
"""
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def fp16_nan():
    """Transformer fine-tune with fp16 autocast and no GradScaler: NaN at step 2,140."""
    rng = random.Random(7)
    out = os.path.join(HERE, "fp16-nan", "logs")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.csv"), "w") as f:
        f.write("step,train/loss,train/grad_norm,train/lr\n")
        for step in range(0, 3000, 10):
            lr = 3e-4 * min(1.0, (step + 10) / 200)
            if step < 2140:
                loss = 2.1 * math.exp(-step / 700) + 0.55 + rng.gauss(0, 0.03)
                growth = math.exp(max(0, step - 1700) / 150)
                grad = (1.2 + rng.gauss(0, 0.1)) * growth
                f.write(f"{step},{loss:.5f},{grad:.5f},{lr:.6g}\n")
            elif step < 2150:
                f.write(f"{step},nan,inf,{lr:.6g}\n")
            else:
                f.write(f"{step},nan,nan,{lr:.6g}\n")
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(
            {
                "model_name_or_path": "gpt2-medium",
                "learning_rate": 3e-4,
                "per_device_train_batch_size": 64,
                "warmup_steps": 200,
                "fp16": True,
                "max_grad_norm": 0.0,
                "weight_decay": 0.0,
            },
            f,
            indent=2,
        )
        f.write("\n")


def overfit():
    """Small image classifier: train loss keeps falling, val loss turns up at epoch 12."""
    rng = random.Random(11)
    out = os.path.join(HERE, "small-data-overfit", "logs")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.jsonl"), "w") as f:
        for epoch in range(40):
            step = (epoch + 1) * 50
            train = 2.2 * math.exp(-epoch / 6) + 0.02 + abs(rng.gauss(0, 0.01))
            val = 2.2 * math.exp(-epoch / 6) + 0.45 + max(0, epoch - 12) * 0.045 + rng.gauss(0, 0.015)
            acc = 1 - 0.9 * math.exp(-epoch / 5)
            val_acc = min(0.71, 1 - 0.9 * math.exp(-epoch / 5)) - max(0, epoch - 12) * 0.002
            row = {"step": step, "epoch": epoch, "train_loss": round(train, 5), "val_loss": round(val, 5),
                   "train_acc": round(acc, 4), "val_acc": round(val_acc, 4)}
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    fp16_nan()
    overfit()
