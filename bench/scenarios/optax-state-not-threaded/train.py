"""Regression MLP in JAX + optax (Adam with cosine decay); JSON-lines metrics."""
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import make_friedman1

SEED = 0
STEPS = 2000
BATCH_SIZE = 128
PEAK_LR = 3e-3

X, y = make_friedman1(n_samples=6000, n_features=10, noise=0.3, random_state=SEED)
y = (y - y.mean()) / y.std()
X_train, y_train = jnp.asarray(X[:5000], jnp.float32), jnp.asarray(y[:5000], jnp.float32)
X_val, y_val = jnp.asarray(X[5000:], jnp.float32), jnp.asarray(y[5000:], jnp.float32)


def init_mlp(key, sizes):
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (m, n)) * jnp.sqrt(2.0 / m), "b": jnp.zeros(n)})
    return params


def predict(params, x):
    for layer in params[:-1]:
        x = jax.nn.gelu(x @ layer["w"] + layer["b"])
    return (x @ params[-1]["w"] + params[-1]["b"]).squeeze(-1)


def mse(params, x, y):
    return jnp.mean((predict(params, x) - y) ** 2)


schedule = optax.cosine_decay_schedule(PEAK_LR, decay_steps=STEPS, alpha=0.01)
optimizer = optax.adam(schedule)


@jax.jit
def train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(mse)(params, x, y)
    updates, new_opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, new_opt_state, loss, optax.global_norm(grads)


params = init_mlp(jax.random.PRNGKey(SEED), [10, 128, 128, 1])
opt_state = optimizer.init(params)
rng = np.random.default_rng(SEED)
eval_mse = jax.jit(mse)

Path("logs").mkdir(exist_ok=True)
with open("logs/metrics.jsonl", "w") as log:
    for step in range(1, STEPS + 1):
        idx = rng.integers(0, X_train.shape[0], BATCH_SIZE)
        params, _, loss, grad_norm = train_step(params, opt_state, X_train[idx], y_train[idx])
        if step % 10 == 0:
            record = {"step": step, "train_loss": float(loss), "grad_norm": float(grad_norm),
                      "lr": float(schedule(step))}
            if step % 100 == 0:
                record["val_loss"] = float(eval_mse(params, X_val, y_val))
            log.write(json.dumps(record) + "\n")
