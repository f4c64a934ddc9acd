"""Tiny character-level transformer LM (post-LN, like the original paper), nanoGPT-style log."""
import math
import time

import numpy as np
import torch
from torch import nn

torch.manual_seed(1337)
rng = np.random.default_rng(1337)

block_size = 32
batch_size = 16
n_layer = 4
n_head = 4
n_embd = 64
learning_rate = 1e-2
max_iters = 500
eval_interval = 100
log_interval = 10

# synthetic corpus: arithmetic facts, so the model has something learnable and no download is needed
lines = []
for _ in range(20000):
    a, b = rng.integers(0, 100, 2)
    lines.append(f"{a}+{b}={a + b};")
text = "".join(lines)
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]


def get_batch(split):
    source = train_data if split == "train" else val_data
    ix = torch.randint(len(source) - block_size - 1, (batch_size,))
    x = torch.stack([source[i : i + block_size] for i in ix])
    y = torch.stack([source[i + 1 : i + block_size + 1] for i in ix])
    return x, y


class CharTransformer(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.pos = nn.Embedding(block_size, n_embd)
        layer = nn.TransformerEncoderLayer(n_embd, n_head, 4 * n_embd, dropout=0.0, batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.head = nn.Linear(n_embd, vocab_size)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(block_size))

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t))
        x = self.blocks(x, mask=self.mask[:t, :t], is_causal=True)
        return self.head(x)


model = CharTransformer(len(chars))
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=(0.9, 0.99), weight_decay=0.1)
loss_fn = nn.CrossEntropyLoss()


@torch.no_grad()
def estimate_loss():
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [loss_fn(model(x).flatten(0, 1), y.flatten()).item() for x, y in (get_batch(split) for _ in range(4))]
        out[split] = float(np.mean(losses))
    model.train()
    return out


print(f"number of parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M")
t0 = time.time()
for it in range(max_iters + 1):
    lr = learning_rate
    if it % eval_interval == 0:
        losses = estimate_loss()
        print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
    x, y = get_batch("train")
    loss = loss_fn(model(x).flatten(0, 1), y.flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9).item()
    optimizer.step()
    if it % log_interval == 0:
        dt = (time.time() - t0) * 1000
        t0 = time.time()
        print(f"iter {it}: loss {loss.item():.4f}, lr {lr:.2e}, grad_norm {grad_norm:.3f}, time {dt:.2f}ms")
