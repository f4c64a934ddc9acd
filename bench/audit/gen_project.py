#!/usr/bin/env python3
"""Writes a large, realistic Python ML project for benchmarking `fmr-audit`.

The project mixes the kinds of modules a real training codebase holds: PyTorch models, datasets
and training loops, Lightning modules, Hugging Face fine-tuning scripts, Keras models, JAX/Flax
training code, configuration and utilities, plus a few very long files. Most code is correct;
names, sizes and structure vary with a fixed seed so the output is reproducible.

usage: gen_project.py OUT_DIR [TARGET_LINES]
"""
import os
import random
import sys
from string import Template

MODEL = Template('''"""$title model."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ${name}Block(nn.Module):
    def __init__(self, dim, hidden, dropout=$dropout):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        residual = x
        x = self.norm(x)
        x = F.gelu(self.fc1(x))
        x = F.dropout(x, p=$dropout, training=self.training)
        x = self.fc2(x)
        return residual + self.dropout(x)


class ${name}Attention(nn.Module):
    def __init__(self, dim, heads=$heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        batch, length, dim = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * self.scale
        if mask is not None:
            scores = scores.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        weights = scores.softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
        return self.proj(out)


class ${name}(nn.Module):
    def __init__(self, vocab_size=$vocab, dim=$dim, depth=$depth, num_classes=$classes):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.zeros(1, 512, dim))
        self.blocks = nn.ModuleList([${name}Block(dim, dim * 4) for _ in range(depth)])
        self.attn = nn.ModuleList([${name}Attention(dim) for _ in range(depth)])
        self.head = nn.Linear(dim, num_classes)
        self.bn = nn.BatchNorm1d(dim)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, tokens, mask=None):
        x = self.embed(tokens) + self.pos[:, : tokens.size(1)]
        for block, attn in zip(self.blocks, self.attn):
            x = x + attn(x, mask)
            x = block(x)
        pooled = x.mean(dim=1)
        pooled = self.bn(pooled)
        return self.head(pooled)

    @torch.no_grad()
    def predict(self, tokens):
        logits = self.forward(tokens)
        return F.softmax(logits, dim=-1).argmax(dim=-1)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_${lname}(config):
    model = ${name}(
        vocab_size=config.get("vocab_size", $vocab),
        dim=config.get("dim", $dim),
        depth=config.get("depth", $depth),
        num_classes=config.get("num_classes", $classes),
    )
    print(f"${name}: {count_parameters(model) / 1e6:.1f}M parameters")
    return model
''')

DATA = Template('''"""$title data pipeline."""
import json
import os
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, random_split


class ${name}Dataset(Dataset):
    def __init__(self, root, split="train", max_length=$length, transform=None):
        self.root = root
        self.split = split
        self.max_length = max_length
        self.transform = transform
        with open(os.path.join(root, f"{split}.jsonl")) as handle:
            self.records = [json.loads(line) for line in handle]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        record = self.records[index]
        tokens = record["tokens"][: self.max_length]
        tokens = tokens + [0] * (self.max_length - len(tokens))
        label = int(record["label"])
        sample = {"tokens": torch.tensor(tokens), "label": torch.tensor(label)}
        if self.transform is not None:
            sample = self.transform(sample)
        return sample


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def collate(batch):
    tokens = torch.stack([item["tokens"] for item in batch])
    labels = torch.stack([item["label"] for item in batch])
    mask = (tokens != 0).long()
    return tokens, mask, labels


def build_loaders(root, batch_size=$batch, num_workers=$workers, seed=$seed):
    train_set = ${name}Dataset(root, "train")
    val_set = ${name}Dataset(root, "val")
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        worker_init_fn=seed_worker,
        generator=generator,
        collate_fn=collate,
        drop_last=True,
    )
    val_loader = DataLoader(val_set, batch_size=batch_size * 2, shuffle=False, collate_fn=collate)
    return train_loader, val_loader


def split_dataset(dataset, fraction=0.1, seed=$seed):
    n_val = int(len(dataset) * fraction)
    lengths = [len(dataset) - n_val, n_val]
    return random_split(dataset, lengths, generator=torch.Generator().manual_seed(seed))


def normalize_features(train_features, test_features):
    mean = train_features.mean(axis=0)
    std = train_features.std(axis=0) + 1e-8
    return (train_features - mean) / std, (test_features - mean) / std


def class_weights(labels, num_classes=$classes):
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = counts.sum() / np.maximum(counts, 1.0)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)
''')

TRAIN = Template('''"""Training entry point for the $title experiment."""
import argparse
import logging
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR

logger = logging.getLogger(__name__)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=$lr)
    parser.add_argument("--epochs", type=int, default=$epochs)
    parser.add_argument("--batch-size", type=int, default=$batch)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--accumulation-steps", type=int, default=$accum)
    parser.add_argument("--amp", action="store_true")
    return parser.parse_args()


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or "norm" in name:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def train_one_epoch(model, loader, optimizer, scheduler, scaler, device, args, epoch):
    model.train()
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    running_loss = 0.0
    start = time.time()
    optimizer.zero_grad(set_to_none=True)
    for step, (tokens, mask, labels) in enumerate(loader):
        tokens, mask, labels = tokens.to(device), mask.to(device), labels.to(device)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=args.amp):
            logits = model(tokens, mask)
            loss = criterion(logits, labels) / args.accumulation_steps
        scaler.scale(loss).backward()
        if (step + 1) % args.accumulation_steps == 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
        running_loss += loss.item()
        if step % $log_every == 0:
            elapsed = time.time() - start
            logger.info("epoch %d step %d loss %.4f (%.1fs)", epoch, step, running_loss / (step + 1), elapsed)
    return running_loss / max(len(loader), 1)


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    for tokens, mask, labels in loader:
        tokens, mask, labels = tokens.to(device), mask.to(device), labels.to(device)
        logits = model(tokens, mask)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(dim=-1) == labels).sum().item()
        total += labels.numel()
    model.train()
    return loss_sum / max(total, 1), correct / max(total, 1)


def main():
    args = parse_args()
    torch.manual_seed($seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from .data_$idx import build_loaders
    from .model_$idx import build_model
    train_loader, val_loader = build_loaders("data", batch_size=args.batch_size)
    model = build_model({"num_classes": $classes}).to(device)
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.95))
    total_steps = args.epochs * math.ceil(len(train_loader) / args.accumulation_steps)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.1)
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp)
    best = float("inf")
    for epoch in range(args.epochs):
        train_loss = train_one_epoch(model, train_loader, optimizer, scheduler, scaler, device, args, epoch)
        val_loss, val_acc = evaluate(model, val_loader, device)
        logger.info("epoch %d train %.4f val %.4f acc %.3f", epoch, train_loss, val_loss, val_acc)
        if val_loss < best:
            best = val_loss
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, "best.pt")


if __name__ == "__main__":
    main()
''')

SIMPLE_LOOP = Template('''"""A plain supervised loop ($title)."""
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset


class MLP$idx(nn.Module):
    def __init__(self, in_features=$dim, hidden=$hidden, out_features=$classes):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Dropout($dropout),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x):
        return self.net(x)


def fit(features, labels, epochs=$epochs, lr=$lr):
    dataset = TensorDataset(features, labels)
    train_loader = DataLoader(dataset, batch_size=$batch, shuffle=True)
    model = MLP$idx()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    criterion = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        epoch_loss = 0.0
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() * inputs.size(0)
        scheduler.step()
        history.append(epoch_loss / len(dataset))
    return model, history


def accuracy(model, features, labels):
    model.eval()
    with torch.no_grad():
        predictions = model(features).argmax(dim=1)
    return (predictions == labels).float().mean().item()
''')

LIGHTNING = Template('''"""Lightning module for $title."""
import lightning as L
import torch
import torch.nn.functional as F
from torch import nn


class ${name}Module(L.LightningModule):
    def __init__(self, backbone, num_classes=$classes, lr=$lr, weight_decay=0.01):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone"])
        self.backbone = backbone
        self.classifier = nn.Linear($dim, num_classes)

    def forward(self, x):
        return self.classifier(self.backbone(x))

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        logits = self(inputs)
        loss = F.cross_entropy(logits, targets)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        inputs, targets = batch
        logits = self(inputs)
        loss = F.cross_entropy(logits, targets)
        acc = (logits.argmax(dim=-1) == targets).float().mean()
        self.log_dict({"val/loss": loss, "val/acc": acc}, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.trainer.max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


class ${name}GAN(L.LightningModule):
    def __init__(self, generator, discriminator, lr=2e-4):
        super().__init__()
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.lr = lr

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        real, _ = batch
        noise = torch.randn(real.size(0), 128, device=self.device)
        fake = self.generator(noise)

        opt_d.zero_grad()
        d_real = self.discriminator(real)
        d_fake = self.discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \\
            F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        self.manual_backward(loss_d)
        opt_d.step()

        opt_g.zero_grad()
        d_fake = self.discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        self.manual_backward(loss_g)
        opt_g.step()
        self.log_dict({"loss_d": loss_d, "loss_g": loss_g})

    def configure_optimizers(self):
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=(0.5, 0.999))
        return [opt_g, opt_d]


def train(model, datamodule, max_epochs=$epochs):
    trainer = L.Trainer(max_epochs=max_epochs, accelerator="auto", devices="auto", precision="bf16-mixed")
    trainer.fit(model, datamodule=datamodule)
    return trainer
''')

HF = Template('''"""Fine-tune a causal language model ($title)."""
from datasets import load_dataset
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
)

MODEL_NAME = "$hfmodel"


def tokenize_dataset(tokenizer, max_length=$length):
    raw = load_dataset("$hfdata", split="train")

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    tokenized = raw.map(tokenize, batched=True, remove_columns=raw.column_names)
    return tokenized.train_test_split(test_size=0.05, seed=$seed)


def main():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_NAME)
    if tokenizer.pad_token is None:
        tokenizer.add_special_tokens({"pad_token": "<pad>"})
    model = AutoModelForCausalLM.from_pretrained(MODEL_NAME)
    model.resize_token_embeddings(len(tokenizer))
    splits = tokenize_dataset(tokenizer)
    collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False)
    args = TrainingArguments(
        output_dir="out/$lname",
        per_device_train_batch_size=$batch,
        gradient_accumulation_steps=$accum,
        learning_rate=$lr,
        num_train_epochs=$epochs,
        warmup_ratio=0.03,
        lr_scheduler_type="cosine",
        bf16=True,
        logging_steps=10,
        eval_strategy="steps",
        eval_steps=200,
        save_steps=200,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["test"],
        data_collator=collator,
    )
    trainer.train()
    trainer.save_model()


if __name__ == "__main__":
    main()
''')

KERAS = Template('''"""Keras classifier ($title)."""
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers


def build_model(input_shape=($dim,), num_classes=$classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Dense($hidden, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout($dropout)(x)
    x = layers.Dense($hidden // 2, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=$lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_binary(input_shape=($dim,)):
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(features, labels, epochs=$epochs):
    order = np.random.permutation(len(features))
    features, labels = features[order], labels[order]
    model = build_model(features.shape[1:])
    callbacks = [keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)]
    history = model.fit(features, labels, epochs=epochs, batch_size=$batch, validation_split=0.1, callbacks=callbacks)
    return model, history
''')

JAX = Template('''"""JAX/Flax training for $title."""
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state


class ${name}Net(nn.Module):
    hidden: int = $hidden
    num_classes: int = $classes

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Dense(self.hidden)(x)
        x = nn.relu(x)
        x = nn.Dropout($dropout, deterministic=not train)(x)
        return nn.Dense(self.num_classes)(x)


def create_state(rng, learning_rate=$lr, input_dim=$dim):
    model = ${name}Net()
    params = model.init(rng, jnp.ones((1, input_dim)), train=False)["params"]
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(learning_rate))
    return train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)


@jax.jit
def train_step(state, batch, dropout_key):
    def loss_fn(params):
        logits = state.apply_fn({"params": params}, batch["x"], train=True, rngs={"dropout": dropout_key})
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
        return loss, logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == batch["y"])
    return state, {"loss": loss, "accuracy": accuracy}


@jax.jit
def eval_step(state, batch):
    logits = state.apply_fn({"params": state.params}, batch["x"], train=False)
    return jnp.mean(jnp.argmax(logits, -1) == batch["y"])


def train(batches, seed=$seed, steps=$steps):
    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    state = create_state(init_key)
    metrics = []
    for step, batch in zip(range(steps), batches):
        key, dropout_key = jax.random.split(key)
        state, step_metrics = train_step(state, batch, dropout_key)
        if step % 100 == 0:
            metrics.append(jax.device_get(step_metrics))
    return state, metrics


def manual_sgd(params, batches, lr=$lr):
    optimizer = optax.sgd(lr, momentum=0.9)
    opt_state = optimizer.init(params)

    def loss(p, x, y):
        predictions = x @ p["w"] + p["b"]
        return jnp.mean((predictions - y) ** 2)

    grad_fn = jax.jit(jax.grad(loss))
    for x, y in batches:
        grads = grad_fn(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    return params
''')

UTILS = Template('''"""Utilities ($title)."""
import json
import logging
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch

logger = logging.getLogger(__name__)


def set_seed(seed=$seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@dataclass
class ${name}Config:
    lr: float = $lr
    batch_size: int = $batch
    epochs: int = $epochs
    hidden: int = $hidden
    dropout: float = $dropout
    tags: list = field(default_factory=list)

    @classmethod
    def from_json(cls, path):
        with open(path) as handle:
            return cls(**json.load(handle))

    def to_json(self, path):
        with open(path, "w") as handle:
            json.dump(self.__dict__, handle, indent=2)


class AverageMeter:
    def __init__(self):
        self.reset()

    def reset(self):
        self.total = 0.0
        self.count = 0

    def update(self, value, n=1):
        self.total += value * n
        self.count += n

    @property
    def average(self):
        return self.total / max(self.count, 1)


class MetricLogger:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.meters = defaultdict(AverageMeter)
        os.makedirs(log_dir, exist_ok=True)

    def update(self, **values):
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.item()
            self.meters[key].update(value)

    def dump(self, step):
        record = {key: meter.average for key, meter in self.meters.items()}
        record["step"] = step
        record["time"] = time.time()
        with open(os.path.join(self.log_dir, "metrics.jsonl"), "a") as handle:
            handle.write(json.dumps(record) + "\\n")
        for meter in self.meters.values():
            meter.reset()
        return record


def save_checkpoint(path, model, optimizer, scheduler=None, step=0):
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    state = torch.load(path, map_location="cpu")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    return state.get("step", 0)


def cosine_schedule(step, total_steps, warmup_steps=$warmup, base_lr=$lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + np.cos(np.pi * progress))
''')

RL = Template('''"""PPO for $title."""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical


class ActorCritic$idx(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden=$hidden):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, act_dim))
        self.critic = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def act(self, obs):
        logits = self.actor(obs)
        dist = Categorical(logits=logits)
        action = dist.sample()
        return action, dist.log_prob(action), self.critic(obs).squeeze(-1)

    def evaluate_actions(self, obs, actions):
        logits = self.actor(obs)
        dist = Categorical(logits=logits)
        return dist.log_prob(actions), dist.entropy(), self.critic(obs).squeeze(-1)


def compute_gae(rewards, values, dones, last_value, gamma=0.99, lam=0.95):
    advantages = np.zeros_like(rewards)
    gae = 0.0
    for t in reversed(range(len(rewards))):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_value * (1 - dones[t]) - values[t]
        gae = delta + gamma * lam * (1 - dones[t]) * gae
        advantages[t] = gae
    return advantages, advantages + values


def ppo_update(policy, optimizer, batch, clip=0.2, epochs=$epochs, minibatch=$batch):
    obs, actions, old_log_probs, returns, advantages = batch
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    n = obs.size(0)
    for _ in range(epochs):
        permutation = torch.randperm(n)
        for start in range(0, n, minibatch):
            index = permutation[start : start + minibatch]
            log_probs, entropy, values = policy.evaluate_actions(obs[index], actions[index])
            ratio = torch.exp(log_probs - old_log_probs[index])
            surrogate = torch.min(ratio * advantages[index], torch.clamp(ratio, 1 - clip, 1 + clip) * advantages[index])
            value_loss = (returns[index] - values).pow(2).mean()
            loss = -surrogate.mean() + 0.5 * value_loss - 0.01 * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()


def rollout(env_id="CartPole-v1", steps=$steps, seed=$seed):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    policy = ActorCritic$idx(env.observation_space.shape[0], env.action_space.n)
    optimizer = torch.optim.Adam(policy.parameters(), lr=$lr)
    buffer = []
    for _ in range(steps):
        with torch.no_grad():
            action, log_prob, value = policy.act(torch.as_tensor(obs, dtype=torch.float32))
        next_obs, reward, terminated, truncated, _ = env.step(action.item())
        buffer.append((obs, action, log_prob, reward, terminated or truncated, value))
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
    return policy, optimizer, buffer
''')

TEMPLATES = [
    (MODEL, "model", 3),
    (DATA, "data", 3),
    (TRAIN, "train", 3),
    (SIMPLE_LOOP, "loop", 2),
    (LIGHTNING, "lit", 2),
    (HF, "finetune", 1),
    (KERAS, "keras", 1),
    (JAX, "jax", 2),
    (UTILS, "utils", 3),
    (RL, "ppo", 2),
]

NAMES = ["Vision", "Text", "Audio", "Graph", "Tabular", "Speech", "Video", "Molecule", "Weather", "Retrieval"]
HF_MODELS = ["gpt2", "EleutherAI/pythia-160m", "facebook/opt-125m", "Qwen/Qwen2.5-0.5B"]
HF_DATA = ["wikitext", "tiny_shakespeare", "openwebtext", "c4"]


def values(rng, idx):
    name = rng.choice(NAMES) + str(idx)
    return {
        "idx": idx,
        "name": name,
        "lname": name.lower(),
        "title": f"{name} #{idx}",
        "dropout": rng.choice(["0.0", "0.1", "0.2", "0.3"]),
        "heads": rng.choice([4, 8, 12, 16]),
        "vocab": rng.choice([8000, 32000, 50257]),
        "dim": rng.choice([128, 256, 384, 512, 768]),
        "hidden": rng.choice([64, 128, 256, 512]),
        "depth": rng.choice([2, 4, 6, 12]),
        "classes": rng.choice([2, 10, 100, 1000]),
        "length": rng.choice([128, 256, 512]),
        "batch": rng.choice([16, 32, 64, 128, 256]),
        "workers": rng.choice([0, 2, 4, 8]),
        "seed": rng.randrange(10000),
        "lr": rng.choice(["1e-3", "3e-4", "5e-5", "2e-5", "0.1"]),
        "epochs": rng.choice([3, 10, 30, 100]),
        "accum": rng.choice([1, 2, 4, 8]),
        "log_every": rng.choice([10, 50, 100]),
        "warmup": rng.choice([100, 500, 2000]),
        "steps": rng.choice([1000, 5000, 20000]),
        "hfmodel": rng.choice(HF_MODELS),
        "hfdata": rng.choice(HF_DATA),
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    target = int(sys.argv[2]) if len(sys.argv) > 2 else 110_000
    rng = random.Random(20240601)
    weighted = [entry for entry in TEMPLATES for _ in range(entry[2])]
    lines = 0
    idx = 0
    while lines < target:
        template, kind, _ = rng.choice(weighted)
        package = os.path.join(out, f"pkg{idx // 40:02d}")
        os.makedirs(package, exist_ok=True)
        if idx % 97 == 0:
            # A few long modules, as real projects have: many models concatenated in one file.
            text = "\n\n".join(template.substitute(values(rng, idx * 100 + part)) for part in range(25))
        else:
            text = template.substitute(values(rng, idx))
        with open(os.path.join(package, f"{kind}_{idx}.py"), "w") as handle:
            handle.write(text)
        lines += text.count("\n")
        idx += 1
    with open(os.path.join(out, "__init__.py"), "w") as handle:
        handle.write("")
    print(f"{idx} files, {lines} lines in {out}")


if __name__ == "__main__":
    main()
