"""Lightning module for a crop re-ranker: binary cross-entropy, re-ranked top-1 validation."""
from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from ..policies.reranking import RerankConfig
from .rerank_samples import CropSamples, reranked_top1


class RerankModule(L.LightningModule):
    """Binary cross-entropy on crops; validation: re-ranked top-1 over the validation scenes."""

    def __init__(self, model, val_samples: CropSamples, val_scenes: int, lr: float, rerank: RerankConfig):
        super().__init__()
        self.model, self.val_samples, self.val_scenes, self.lr = model, val_samples, val_scenes, lr
        self.rerank = rerank
        self._val_prob: list = []

    def training_step(self, batch, batch_idx):
        x, y, _ = batch
        loss = F.binary_cross_entropy_with_logits(self.model(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False, batch_size=x.shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        x, y, idx = batch
        logits = self.model(x)
        self.log("val_loss", F.binary_cross_entropy_with_logits(logits, y), on_epoch=True, batch_size=x.shape[0])
        self._val_prob.append((idx.cpu().numpy(), torch.sigmoid(logits).detach().cpu().numpy()))

    def on_validation_epoch_end(self):
        prob = np.zeros(len(self.val_samples))
        for idx, p in self._val_prob:
            prob[idx] = p
        self._val_prob = []
        hits, _ = reranked_top1(self.val_samples, prob, self.rerank)
        self.log("val_accuracy", hits / max(self.val_scenes, 1), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.model.parameters(), lr=self.lr)
