"""Landmark regressor: find the centre of the marker in 32x32 camera crops.

Horizontal flips as augmentation because the marker can appear anywhere in the frame.
Per-epoch metrics go to logs/metrics.csv.
"""
import csv
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)

SIZE = 32
EPOCHS = 10
BATCH_SIZE = 64
LR = 1e-3


def render_crops(n, generator):
    """Crops with one round marker (the landmark) and a few bright streaks as clutter."""
    yy, xx = torch.meshgrid(torch.arange(SIZE).float(), torch.arange(SIZE).float(), indexing="ij")
    images = 0.1 * torch.randn(n, 1, SIZE, SIZE, generator=generator)
    centres = 4 + torch.rand(n, 2, generator=generator) * (SIZE - 8)  # (x, y) in pixels
    radius = 2 + 2 * torch.rand(n, generator=generator)
    for i in range(n):
        cx, cy = centres[i]
        images[i, 0] += ((xx - cx) ** 2 + (yy - cy) ** 2 < radius[i] ** 2).float()
        for _ in range(3):
            row = int(torch.randint(0, SIZE, (1,), generator=generator))
            start = int(torch.randint(0, SIZE - 10, (1,), generator=generator))
            images[i, 0, row, start : start + 10] += 0.6
    return images, centres


class LandmarkDataset(Dataset):
    def __init__(self, images, centres, augment=False):
        self.images, self.centres, self.augment = images, centres, augment

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        image, centre = self.images[idx], self.centres[idx].clone()
        if self.augment and torch.rand(1).item() < 0.5:
            image = torch.flip(image, dims=[-1])
        return image, centre / SIZE


model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 2),
)

generator = torch.Generator().manual_seed(0)
train_images, train_centres = render_crops(3000, generator)
val_images, val_centres = render_crops(500, generator)
train_loader = DataLoader(
    LandmarkDataset(train_images, train_centres, augment=True), batch_size=BATCH_SIZE, shuffle=True
)
val_loader = DataLoader(LandmarkDataset(val_images, val_centres), batch_size=250)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
loss_fn = nn.MSELoss()

with open("logs/metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["epoch", "train_loss", "val_loss", "val_mean_error_px", "lr"])
    for epoch in range(1, EPOCHS + 1):
        model.train()
        total, seen = 0.0, 0
        for images, targets in train_loader:
            loss = loss_fn(model(images), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(images)
            seen += len(images)
        model.eval()
        val_total, errors = 0.0, []
        with torch.no_grad():
            for images, targets in val_loader:
                pred = model(images)
                val_total += loss_fn(pred, targets).item() * len(images)
                errors.append(((pred - targets) * SIZE).norm(dim=1))
        val_error = torch.cat(errors).mean().item()
        writer.writerow([epoch, f"{total / seen:.5f}", f"{val_total / len(val_images):.5f}",
                         f"{val_error:.3f}", LR])
        f.flush()
        print(f"epoch {epoch}: train_loss {total / seen:.5f} val_loss {val_total / len(val_images):.5f} "
              f"val_error {val_error:.2f}px")
