"""Fine-tunes a causal language model on a text corpus (example for fmr)."""
import json

import torch
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM

from data import load_corpus


def main():
    config = json.load(open("config.json"))
    model = AutoModelForCausalLM.from_pretrained(config["model_name_or_path"]).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["learning_rate"])
    loader = DataLoader(load_corpus("train"), batch_size=config["per_device_train_batch_size"], shuffle=True)

    step = 0
    for epoch in range(3):
        for batch in loader:
            batch = {k: v.cuda() for k, v in batch.items()}
            optimizer.zero_grad()
            with torch.autocast("cuda", dtype=torch.float16):
                out = model(**batch, labels=batch["input_ids"])
            loss = out.loss
            loss.backward()
            optimizer.step()
            if step % 10 == 0:
                print(json.dumps({"step": step, "loss": loss.item()}))
            step += 1


if __name__ == "__main__":
    main()
