"""Autoencoders for semi-supervised grasp detection (Mahajan et al. 2020, DESIGN B3).

A convolutional encoder (two stride-2 convolutions and a residual stack, as in van den Oord et
al.'s VQ-VAE) maps a (B, C, H, W) image to a (B, D, H/4, W/4) latent; either

- ``VectorQuantizer``: nearest of K codebook vectors, straight-through gradient, codebook and
  β-commitment losses, optional exponential-moving-average codebook updates and restarting of
  dead codes; or
- ``PlanarFlowPosterior``: a diagonal Gaussian per latent position followed by K planar flows
  z' = z + u·tanh(wᵀz + b) (Rezende & Mohamed 2015), the log-determinants entering the ELBO;

and a decoder (residual stack, two stride-2 transposed convolutions) reconstructs the image.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class ResidualStack(nn.Module):
    """``n`` blocks of x + conv1×1(relu(conv3×3(relu(x)))), then a ReLU."""

    def __init__(self, channels: int, hidden: int, n: int):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(hidden, channels, 1)) for _ in range(n))

    def forward(self, x):
        for b in self.blocks:
            x = x + b(x)
        return F.relu(x)


class ConvEncoder(nn.Module):
    """(B, C, H, W) → (B, out, H/4, W/4) (H/2 with ``downsamples=1``: a finer latent grid), after standardising each input channel with the
    training images' mean and standard deviation (``input_mean``/``input_std`` buffers, set by
    ``LatentAutoencoder.fit_input_stats``). Without it a depth channel relative to the table
    (σ ≈ 5 mm) is invisible next to colour (σ ≈ 0.1) and the autoencoder learns to ignore it."""

    def __init__(self, in_channels: int, hidden: int, res_hidden: int, res_blocks: int, out_channels: int,
                 downsamples: int = 2):
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("input_std", torch.ones(1, in_channels, 1, 1))
        second = (nn.Conv2d(hidden // 2, hidden, 4, stride=2, padding=1) if downsamples == 2
                  else nn.Conv2d(hidden // 2, hidden, 3, padding=1))
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden // 2, 4, stride=2, padding=1), nn.ReLU(),
            second, nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            ResidualStack(hidden, res_hidden, res_blocks),
            nn.Conv2d(hidden, out_channels, 1))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.input_mean) / self.input_std

    def forward(self, x):
        return self.net(self.standardise(x))


class ConvDecoder(nn.Module):
    """(B, D, H/4, W/4) → (B, out, H, W); ``body`` is everything but the last up-sampling, so a
    grasp network can take the body (initialised from a trained decoder) and a new last layer."""

    def __init__(self, latent_dim: int, hidden: int, res_hidden: int, res_blocks: int, out_channels: int,
                 downsamples: int = 2):
        super().__init__()
        up = (nn.ConvTranspose2d(hidden, hidden // 2, 4, stride=2, padding=1) if downsamples == 2
              else nn.Conv2d(hidden, hidden // 2, 3, padding=1))
        self.body = nn.Sequential(
            nn.Conv2d(latent_dim, hidden, 3, padding=1),
            ResidualStack(hidden, res_hidden, res_blocks),
            up, nn.ReLU())
        self.last = nn.ConvTranspose2d(hidden // 2, out_channels, 4, stride=2, padding=1)

    def forward(self, z):
        return self.last(self.body(z))


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantisation of (B, D, h, w) latents with a straight-through gradient.

    Loss: ‖sg[z_e] − e‖² (codebook; replaced by EMA updates when ``ema``) + β‖z_e − sg[e]‖².
    With ``restart_dead``, codes unused for ``restart_after`` batches are moved onto random
    encoder outputs of the current batch; ``data_init`` starts the codes on encoder outputs.
    """

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, ema: bool = False, decay: float = 0.99,
                 restart_dead: bool = False, restart_after: int = 20, eps: float = 1e-5, data_init: bool = True):
        super().__init__()
        self.num_codes, self.dim, self.beta, self.ema, self.decay = num_codes, dim, beta, ema, decay
        self.restart_dead, self.restart_after, self.eps = restart_dead, restart_after, eps
        self.codebook = nn.Parameter(torch.empty(num_codes, dim).uniform_(-1 / num_codes, 1 / num_codes),
                                     requires_grad=not ema)
        self.register_buffer("ema_count", torch.ones(num_codes))
        self.register_buffer("ema_sum", self.codebook.detach().clone())
        self.register_buffer("unused_batches", torch.zeros(num_codes))
        # codes start on encoder outputs of the first training batch: the usual remedy for a
        # codebook that collapses onto a few codes when it starts far from the data
        self.register_buffer("initialised", torch.tensor(not data_init))

    def indices(self, z_e: torch.Tensor) -> torch.Tensor:
        """(B, h, w) index of the nearest code of every latent vector."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.dim)
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t() + self.codebook.pow(2).sum(1)[None])
        return d.argmin(1).view(z_e.shape[0], *z_e.shape[2:])

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        return self.codebook[idx].permute(0, 3, 1, 2).contiguous()

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(z_q with the straight-through gradient, the VQ loss, stats: perplexity, codes used)."""
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, self.dim)
                pick = torch.randint(len(flat), (self.num_codes,), device=flat.device)
                self.codebook.data.copy_(flat[pick])
                self.ema_sum.copy_(flat[pick] * self.ema_count[:, None])
                self.initialised.fill_(True)
        idx = self.indices(z_e)
        z_q = self.lookup(idx)
        commit = F.mse_loss(z_e, z_q.detach())
        if self.ema:
            loss = self.beta * commit
            if self.training:
                self._ema_update(z_e.detach(), idx)
        else:
            loss = F.mse_loss(z_q, z_e.detach()) + self.beta * commit
        counts = torch.bincount(idx.flatten(), minlength=self.num_codes).float()
        if self.training and self.restart_dead:
            self._restart(z_e.detach(), counts)
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_st = z_e + (z_q - z_e).detach()
        return z_st, loss, {"perplexity": perplexity, "codes_used": (counts > 0).sum()}

    @torch.no_grad()
    def _ema_update(self, z_e, idx):
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.dim)
        onehot = F.one_hot(idx.flatten(), self.num_codes).type_as(flat)
        self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count = (self.ema_count + self.eps) / (n + self.num_codes * self.eps) * n     # Laplace smoothing
        self.codebook.data.copy_(self.ema_sum / count[:, None])

    @torch.no_grad()
    def _restart(self, z_e, counts):
        self.unused_batches.add_(1).mul_((counts == 0).float())
        dead = torch.nonzero(self.unused_batches >= self.restart_after).flatten()
        if len(dead):
            flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.dim)
            pick = torch.randint(len(flat), (len(dead),), device=flat.device)
            self.codebook.data[dead] = flat[pick]
            self.ema_sum[dead] = flat[pick] * self.ema_count[dead, None]
            self.unused_batches[dead] = 0


class PlanarFlowPosterior(nn.Module):
    """q(z|x): a diagonal Gaussian per latent position, then K planar flows on its D-vector.

    The flows' parameters are shared by all positions; u is re-parameterised (û) so that
    wᵀû ≥ −1 and every flow stays invertible. ``forward`` returns the sample z_K and the
    Monte-Carlo KL term log q_K(z_K) − log p(z_K) summed over latent dimensions, mean over batch.
    """

    def __init__(self, dim: int, flows: int):
        super().__init__()
        self.dim, self.flows = dim, flows
        self.u = nn.Parameter(torch.randn(flows, dim) * 0.01)
        self.w = nn.Parameter(torch.randn(flows, dim) * 0.01)
        self.b = nn.Parameter(torch.zeros(flows))

    def u_hat(self) -> torch.Tensor:
        wu = (self.w * self.u).sum(1, keepdim=True)
        m = -1 + F.softplus(wu)
        return self.u + (m - wu) * self.w / (self.w.pow(2).sum(1, keepdim=True) + 1e-12)

    def transform(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flows on (N, D) vectors: (z_K, Σ_k log|det ∂z_k/∂z_{k−1}|) with the log-dets per vector."""
        u = self.u_hat()
        logdet = torch.zeros(z.shape[0], device=z.device, dtype=z.dtype)
        for k in range(self.flows):
            a = z @ self.w[k] + self.b[k]
            h = torch.tanh(a)
            psi = (1 - h.pow(2))[:, None] * self.w[k]                     # h'(wᵀz + b)·w
            logdet = logdet + torch.log((1 + psi @ u[k]).abs() + 1e-8)
            z = z + u[k] * h[:, None]
        return z, logdet

    def forward(self, stats: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = stats.chunk(2, dim=1)
        logvar = logvar.clamp(-10, 10)
        b, d, h, w = mu.shape
        eps = torch.randn_like(mu) if sample else torch.zeros_like(mu)
        z0 = mu + torch.exp(0.5 * logvar) * eps
        flat = z0.permute(0, 2, 3, 1).reshape(-1, d)
        zk, logdet = self.transform(flat)
        log_q0 = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(1).flatten()
        log_p = -0.5 * (math.log(2 * math.pi) + zk.pow(2)).sum(1)
        kl = (log_q0 - logdet - log_p).view(b, h * w).sum(1).mean()
        return zk.view(b, h, w, d).permute(0, 3, 1, 2).contiguous(), kl


class LatentAutoencoder(nn.Module):
    """VQ-VAE (``kind="vq"``) or Gaussian VAE with planar flows (``kind="flow"``) on images.

    ``loss(x)`` returns the training objective and its terms; ``latent(x)`` the frozen-encoder
    representation a grasp network reads (quantised codes, or the flowed posterior mean).
    """

    def __init__(self, in_channels: int = 1, kind: str = "vq", hidden: int = 64, res_hidden: int = 32,
                 res_blocks: int = 2, latent_dim: int = 32, num_codes: int = 256, beta: float = 0.25,
                 ema: bool = False, restart_dead: bool = False, flows: int = 4, kl_weight: float = 1e-3,
                 downsamples: int = 2):
        super().__init__()
        if kind not in ("vq", "flow"):
            raise ValueError(f"unknown autoencoder kind {kind!r}; use vq or flow")
        if downsamples not in (1, 2):
            raise ValueError(f"downsamples {downsamples}: the latent grid is 1/4 (2) or 1/2 (1) of the input")
        self.config = dict(in_channels=in_channels, kind=kind, hidden=hidden, res_hidden=res_hidden,
                           res_blocks=res_blocks, latent_dim=latent_dim, num_codes=num_codes, beta=beta, ema=ema,
                           restart_dead=restart_dead, flows=flows, kl_weight=kl_weight)
        if downsamples != 2:                    # files written before the option load unchanged
            self.config["downsamples"] = downsamples
        self.kind, self.kl_weight = kind, kl_weight
        enc_out = latent_dim if kind == "vq" else 2 * latent_dim
        self.encoder = ConvEncoder(in_channels, hidden, res_hidden, res_blocks, enc_out, downsamples)
        if kind == "vq":
            self.quantizer = VectorQuantizer(num_codes, latent_dim, beta, ema=ema, restart_dead=restart_dead)
        else:
            self.posterior = PlanarFlowPosterior(latent_dim, flows)
        self.decoder = ConvDecoder(latent_dim, hidden, res_hidden, res_blocks, in_channels, downsamples)

    def encode(self, x: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(latent, regulariser: VQ loss or weighted KL, stats)."""
        h = self.encoder(x)
        if self.kind == "vq":
            return self.quantizer(h)
        z, kl = self.posterior(h, sample=sample)
        return z, self.kl_weight * kl / (x.shape[-1] * x.shape[-2]), {"kl": kl.detach()}

    @torch.no_grad()
    def fit_input_stats(self, x: torch.Tensor) -> None:
        """Per-channel mean and standard deviation of the training images (B, C, H, W)."""
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        self.encoder.input_mean.copy_(mean)
        self.encoder.input_std.copy_(std)

    @torch.no_grad()
    def latent(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x, sample=False)[0]

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        z, reg, stats = self.encode(x)
        recon = self.decoder(z)                 # in standardised units: every channel counts alike
        rec = F.mse_loss(recon, self.encoder.standardise(x))
        return rec + reg, {"reconstruction": rec.detach(), "regulariser": reg.detach(), **stats, "recon": recon}


def save_autoencoder(ae: LatentAutoencoder, path: str | Path, metadata: dict | None = None) -> Path:
    """Config, tensors and metadata (e.g. the training log) in one ``.npz``, no pickle."""
    from .base import write_module
    return write_module(path, ae, {"architecture": "autoencoder", "config": ae.config, "metadata": metadata or {}})


def load_autoencoder(path: str | Path) -> tuple[LatentAutoencoder, dict]:
    """(autoencoder in eval mode, its metadata) from ``save_autoencoder``'s file."""
    from ..errors import GrasplabError
    from .base import read_header, read_tensors
    header = read_header(path)
    if header.get("architecture") != "autoencoder":
        raise GrasplabError(f"{path}: holds a {header.get('architecture')!r} model, not an autoencoder")
    ae = LatentAutoencoder(**header["config"])
    ae.load_state_dict(read_tensors(path))
    return ae.eval(), header.get("metadata", {})
