"""The semi-supervised grasp network: a (frozen) autoencoder's encoder and quantiser or flowed
posterior, a decoder-shaped network initialised from the autoencoder's decoder, and GG-CNN's
four heads (Mahajan et al. 2020). Behind the ``GraspMapModel`` interface, so the detector,
``evaluate`` and ``predict`` take it like GG-CNN."""
from __future__ import annotations

import torch
from torch import nn

from .autoencoders import LatentAutoencoder
from .base import GraspMapModel, register_model


@register_model("latent-ggcnn")
class LatentGraspNet(GraspMapModel):
    """Image → encoder → quantiser / posterior mean → decoder body → up-sampling to ``features``
    channels → ReLU → 1×1 heads (quality, cos 2θ, sin 2θ, width). ``freeze_encoder`` keeps
    the encoder and quantiser fixed (the paper's method); ``False`` trains them too (joint)."""

    size_multiple = 4

    def __init__(self, input_channels: int = 1, autoencoder: dict | None = None, features: int = 32,
                 freeze_encoder: bool = True):
        ae_cfg = dict(autoencoder or {})
        ae_cfg["in_channels"] = input_channels
        super().__init__(input_channels=input_channels, autoencoder=ae_cfg, features=features,
                         freeze_encoder=freeze_encoder)
        ae = LatentAutoencoder(**ae_cfg)
        self.encoder = ae.encoder
        self.quantizer = getattr(ae, "quantizer", None)
        self.posterior = getattr(ae, "posterior", None)
        self.body = ae.decoder.body
        hidden = ae_cfg.get("hidden", 64)
        self.up = nn.ConvTranspose2d(hidden // 2, features, 4, stride=2, padding=1)
        self.heads = nn.Conv2d(features, 4, 1)
        self.freeze_encoder = freeze_encoder
        self._set_frozen()

    def _set_frozen(self):
        for m in (self.encoder, self.quantizer, self.posterior):
            if m is not None:
                for p in m.parameters():
                    p.requires_grad_(not self.freeze_encoder)
        if self.quantizer is not None and self.quantizer.ema:     # EMA codebooks are not trained by gradients
            self.quantizer.codebook.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_encoder:             # frozen parts stay in eval mode (no EMA / restarts)
            for m in (self.encoder, self.quantizer, self.posterior):
                if m is not None:
                    m.eval()
        return self

    @classmethod
    def from_autoencoder(cls, ae: LatentAutoencoder, features: int = 32, freeze_encoder: bool = True):
        """A grasp network whose encoder, quantiser/posterior and decoder body are copies of ``ae``'s."""
        cfg = dict(ae.config)
        net = cls(input_channels=cfg.pop("in_channels"), autoencoder=cfg, features=features,
                  freeze_encoder=freeze_encoder)
        net.encoder.load_state_dict(ae.encoder.state_dict())
        if net.quantizer is not None:
            net.quantizer.load_state_dict(ae.quantizer.state_dict())
        if net.posterior is not None:
            net.posterior.load_state_dict(ae.posterior.state_dict())
        net.body.load_state_dict(ae.decoder.body.state_dict())
        return net

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        if self.quantizer is not None:
            return self.quantizer(h)[0]
        return self.posterior(h, sample=self.training and not self.freeze_encoder)[0]

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self._head(z).split(1, dim=1))

    def _head(self, z: torch.Tensor) -> torch.Tensor:
        return self.heads(torch.relu(self.up(self.body(z))))

    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.freeze_encoder:
            with torch.no_grad():
                z = self.latent(x)
        else:
            z = self.latent(x)
        return self._head(z)
