"""REINFORCE with a baseline on CartPole-v1; one JSON line per training iteration."""
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

SEED = 0
torch.manual_seed(SEED)
np.random.seed(SEED)

config = {
    "env": "CartPole-v1",
    "gamma": 0.99,
    "lr": 0.1,
    "episodes_per_iter": 8,
    "iterations": 60,
    "hidden": 64,
}

env = gym.make(config["env"])
policy = nn.Sequential(nn.Linear(4, config["hidden"]), nn.Tanh(), nn.Linear(config["hidden"], 2))
optimizer = torch.optim.Adam(policy.parameters(), lr=config["lr"])


def run_episode(seed):
    obs, _ = env.reset(seed=seed)
    log_probs, entropies, rewards = [], [], []
    done = False
    while not done:
        dist = torch.distributions.Categorical(logits=policy(torch.as_tensor(obs, dtype=torch.float32)))
        action = dist.sample()
        obs, reward, terminated, truncated, _ = env.step(action.item())
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        rewards.append(reward)
        done = terminated or truncated
    returns, g = [], 0.0
    for r in reversed(rewards):
        g = r + config["gamma"] * g
        returns.append(g)
    returns.reverse()
    return torch.stack(log_probs), torch.stack(entropies), torch.tensor(returns), sum(rewards)


Path("logs").mkdir(exist_ok=True)
with open("logs/result.jsonl", "w") as log:
    timesteps = 0
    episode = 0
    for iteration in range(1, config["iterations"] + 1):
        batch_logp, batch_adv, batch_ent, ep_rewards, ep_lens = [], [], [], [], []
        for _ in range(config["episodes_per_iter"]):
            logp, ent, returns, total = run_episode(SEED + episode)
            episode += 1
            batch_logp.append(logp)
            batch_ent.append(ent)
            batch_adv.append(returns - returns.mean())
            ep_rewards.append(total)
            ep_lens.append(len(returns))
        logp, adv, ent = torch.cat(batch_logp), torch.cat(batch_adv), torch.cat(batch_ent)
        adv = adv / (adv.std() + 1e-8)
        policy_loss = -(logp * adv).mean()
        optimizer.zero_grad()
        policy_loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), 1e9).item()
        optimizer.step()
        timesteps += sum(ep_lens)
        log.write(json.dumps({
            "training_iteration": iteration,
            "timesteps_total": timesteps,
            "episode_reward_mean": float(np.mean(ep_rewards)),
            "episode_reward_max": float(np.max(ep_rewards)),
            "episode_len_mean": float(np.mean(ep_lens)),
            "policy_entropy": ent.mean().item(),
            "policy_loss": policy_loss.item(),
            "grad_norm": grad_norm,
            "config": config,
        }) + "\n")
