"""Crowd counting with density maps, mixed precision (fp16 autocast) for speed.

Each image comes with a density map: one unit-mass Gaussian per annotated head, so the
map sums to the head count. The network predicts a coarse density map that is upsampled
to the image size and compared with the ground truth pixel by pixel (MSE), as in CSRNet.
The model here is a tiny patch MLP so the script runs anywhere; the scenes are rendered.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.tensorboard import SummaryWriter

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"

IMAGE_SIZE = 192
HEAD_SIGMA = 3.0  # apparent head size in pixels
DENSITY_SIGMA = 8.0  # Gaussian kernel for the density maps
BATCH_SIZE = 32
STEPS = 300
LR = 2e-3

coords = torch.arange(IMAGE_SIZE, dtype=torch.float32)


def render_scenes(n, generator):
    """Synthetic crowd photos (bright heads on a noisy background) and their density maps."""
    images = torch.zeros(n, 1, IMAGE_SIZE, IMAGE_SIZE)
    density = torch.zeros(n, 1, IMAGE_SIZE, IMAGE_SIZE)
    counts = torch.randint(10, 120, (n,), generator=generator)
    for i, count in enumerate(counts.tolist()):
        ys = torch.rand(count, generator=generator) * IMAGE_SIZE
        xs = torch.rand(count, generator=generator) * IMAGE_SIZE
        dy, dx = coords[None] - ys[:, None], coords[None] - xs[:, None]
        images[i, 0] = torch.exp(-dy**2 / (2 * HEAD_SIGMA**2)).T @ torch.exp(-dx**2 / (2 * HEAD_SIGMA**2))
        ky = torch.exp(-dy**2 / (2 * DENSITY_SIGMA**2))
        kx = torch.exp(-dx**2 / (2 * DENSITY_SIGMA**2))
        density[i, 0] = (ky / ky.sum(1, keepdim=True)).T @ (kx / kx.sum(1, keepdim=True))
    images += 0.2 * torch.rand(n, 1, 1, 1, generator=generator)
    images += 0.1 * torch.randn(images.shape, generator=generator)
    return images, density, counts.float()


class PatchCounter(nn.Module):
    """Downsample, embed 4x4 patches, predict one density value per patch, upsample."""

    def __init__(self, pool=4, patch=4, dim=32):
        super().__init__()
        self.pool, self.patch = pool, patch
        self.embed = nn.Linear(patch * patch, dim)
        self.head = nn.Sequential(nn.GELU(), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, images):
        b, _, h, w = images.shape
        x = F.avg_pool2d(images, self.pool)
        patches = F.unfold(x, self.patch, stride=self.patch).transpose(1, 2)
        coarse = self.head(self.embed(patches)).transpose(1, 2)
        stride = self.pool * self.patch
        coarse = coarse.reshape(b, 1, h // stride, w // stride)
        return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


generator = torch.Generator().manual_seed(0)
val_images, val_density, val_counts = render_scenes(64, torch.Generator().manual_seed(1))
model = PatchCounter().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
writer = SummaryWriter("logs/tb")

for step in range(1, STEPS + 1):
    model.train()
    images, density, _ = render_scenes(BATCH_SIZE, generator)
    images, density = images.to(device), density.to(device)
    with torch.autocast(device_type=device, dtype=torch.float16):
        pred = model(images)
        loss = F.mse_loss(pred, density)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        grad_norm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
        writer.add_scalar("train/loss", loss.item(), step)
        writer.add_scalar("train/grad_norm", grad_norm.item(), step)
        writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
    if step % 50 == 0:
        model.eval()
        with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.float16):
            pred = model(val_images.to(device)).float()
        pred_counts = pred.sum(dim=(1, 2, 3)).cpu()
        writer.add_scalar("val/loss", F.mse_loss(pred.cpu(), val_density).item(), step)
        writer.add_scalar("val/mae", (pred_counts - val_counts).abs().mean().item(), step)
        writer.add_scalar("val/rmse", (pred_counts - val_counts).pow(2).mean().sqrt().item(), step)
        print(f"step {step}: val count MAE {(pred_counts - val_counts).abs().mean().item():.1f}")
writer.close()
