"""MLP classifier on sklearn digits in plain JAX (no flax), with dropout and minibatch SGD."""
import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
BATCH_SIZE = 64
LR = 0.1
STEPS = 1500
DROPOUT = 0.2
HIDDEN = 128

digits = load_digits()
X_train, X_val, y_train, y_val = train_test_split(
    (digits.data / 16.0).astype(np.float32), digits.target, test_size=0.3, random_state=SEED
)
X_train, X_val = jnp.asarray(X_train), jnp.asarray(X_val)
y_train, y_val = jnp.asarray(y_train), jnp.asarray(y_val)


def init_params(key):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (64, HIDDEN)) * jnp.sqrt(2.0 / 64),
        "b1": jnp.zeros(HIDDEN),
        "w2": jax.random.normal(k2, (HIDDEN, 10)) * jnp.sqrt(1.0 / HIDDEN),
        "b2": jnp.zeros(10),
    }


def forward(params, x, key=None):
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    if key is not None:
        keep = jax.random.bernoulli(key, 1.0 - DROPOUT, h.shape)
        h = jnp.where(keep, h / (1.0 - DROPOUT), 0.0)
    return h @ params["w2"] + params["b2"]


def loss_fn(params, x, y, key):
    logits = forward(params, x, key)
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])


@jax.jit
def train_step(params, key):
    batch_key, dropout_key = jax.random.split(key)
    idx = jax.random.choice(batch_key, X_train.shape[0], (BATCH_SIZE,), replace=False)
    loss, grads = jax.value_and_grad(loss_fn)(params, X_train[idx], y_train[idx], dropout_key)
    params = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    return params, loss


@jax.jit
def evaluate(params):
    logits = forward(params, X_val)
    loss = -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y_val)), y_val])
    return loss, jnp.mean(jnp.argmax(logits, -1) == y_val)


key = jax.random.PRNGKey(SEED)
key, init_key = jax.random.split(key)
params = init_params(init_key)
for step in range(1, STEPS + 1):
    params, loss = train_step(params, key)
    if step % 10 == 0:
        print(f"step {step} | loss {float(loss):.4f} | lr {LR}")
    if step % 100 == 0:
        val_loss, val_acc = evaluate(params)
        print(f"step {step} | val_loss {float(val_loss):.4f} | val_acc {float(val_acc):.4f}")
