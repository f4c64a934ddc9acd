import argparse

import torch
import torch.nn as nn
import yaml
from transformers import get_cosine_schedule_with_warmup

from model import build_model


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="conf/config.yaml")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = yaml.safe_load(open(args.config))
    model = build_model(cfg)
    loader = make_loader(cfg)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=args.lr,
        betas=(0.9, 0.999),
        weight_decay=cfg["optimizer"]["weight_decay"],
    )
    scheduler = get_cosine_schedule_with_warmup(
        optimizer, num_warmup_steps=2000, num_training_steps=100_000
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    accumulation = cfg["training"]["gradient_accumulation_steps"]
    for step, (inputs, targets) in enumerate(loader):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = criterion(model(inputs), targets) / accumulation
        loss.backward()
        if (step + 1) % accumulation == 0:
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()


if __name__ == "__main__":
    main()
