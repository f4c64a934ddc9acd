import optax


def make_optimizer(total_steps):
    schedule = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 1000, total_steps, 1e-5)
    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, b2=0.98, weight_decay=0.05),
    )
