import torch.nn as nn


class Block(nn.Module):
    def __init__(self, dim, n_head, dropout=0.1):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n_head, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h)[0]
        x = x + self.mlp(self.ln_2(x))
        return x


def build_model(cfg):
    layers = [Block(512, 8, cfg["model"]["dropout"]) for _ in range(cfg["model"]["n_layer"])]
    return nn.Sequential(*layers)
