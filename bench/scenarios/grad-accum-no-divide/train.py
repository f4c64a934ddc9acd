"""Character-level MLP language model; batch of 512 does not fit our budget, so accumulate.

Writes a Hugging Face style trainer_state.json.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
rng = np.random.default_rng(0)

CONTEXT = 8
MICRO_BATCH = 64
ACCUM_STEPS = 8
LR = 0.1
MAX_STEPS = 300
LOGGING_STEPS = 5

# synthetic corpus from a tiny grammar, so the script needs no downloads
subjects = ["the cat", "a dog", "my friend", "the model", "our team", "a robot"]
verbs = ["sees", "likes", "trains", "builds", "finds", "moves"]
objects = ["the ball", "a tree", "the data", "a house", "the river", "some code"]
text = " ".join(
    f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}." for _ in range(6000)
)
vocab = sorted(set(text))
stoi = {c: i for i, c in enumerate(vocab)}
data = torch.tensor([stoi[c] for c in text])
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]


def get_batch(source, n, generator):
    starts = torch.randint(0, len(source) - CONTEXT - 1, (n,), generator=generator)
    x = torch.stack([source[s : s + CONTEXT] for s in starts])
    y = source[starts + CONTEXT]
    return x, y


class CharMLP(nn.Module):
    def __init__(self, vocab_size, emb=24, hidden=256):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb)
        self.net = nn.Sequential(nn.Linear(CONTEXT * emb, hidden), nn.Tanh(), nn.Linear(hidden, vocab_size))

    def forward(self, x):
        return self.net(self.emb(x).flatten(1))


model = CharMLP(len(vocab))
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
generator = torch.Generator().manual_seed(0)

log_history = []
for step in range(1, MAX_STEPS + 1):
    optimizer.zero_grad()
    step_loss = 0.0
    for micro in range(ACCUM_STEPS):
        x, y = get_batch(train_data, MICRO_BATCH, generator)
        loss = loss_fn(model(x), y)
        loss.backward()
        step_loss += loss.item() / ACCUM_STEPS
    grad_norm = math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters()))
    optimizer.step()
    if step % LOGGING_STEPS == 0:
        log_history.append({"epoch": round(step * MICRO_BATCH * ACCUM_STEPS / len(train_data), 4),
                            "grad_norm": grad_norm, "learning_rate": LR,
                            "loss": round(step_loss, 4), "step": step})
    if step % 25 == 0:
        with torch.no_grad():
            x, y = get_batch(val_data, 2048, generator)
            eval_loss = loss_fn(model(x), y).item()
        log_history.append({"epoch": round(step * MICRO_BATCH * ACCUM_STEPS / len(train_data), 4),
                            "eval_loss": eval_loss, "step": step})

state = {
    "epoch": round(MAX_STEPS * MICRO_BATCH * ACCUM_STEPS / len(train_data), 4),
    "global_step": MAX_STEPS,
    "max_steps": MAX_STEPS,
    "logging_steps": LOGGING_STEPS,
    "eval_steps": 25,
    "train_batch_size": MICRO_BATCH,
    "gradient_accumulation_steps": ACCUM_STEPS,
    "log_history": log_history,
}
Path("logs").mkdir(exist_ok=True)
Path("logs/trainer_state.json").write_text(json.dumps(state, indent=2) + "\n")
