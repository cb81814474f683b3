"""Lightning module for GQ-CNN: binary cross-entropy on augmented crops, Dex-Net 2.0's SGD
schedule, validation accuracy / average precision / ROC AUC."""
from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from ..evaluation.classification import classification_report
from .gqcnn_data import AugmentConfig, augment_batch


class GQCNNModule(L.LightningModule):
    """SGD with momentum and L2 on the weights; the learning rate falls by ``decay_rate`` each
    time ``decay_epochs`` of training data have been seen (staircase, as gqcnn)."""

    def __init__(self, model, augment: AugmentConfig, seed: int, lr: float, momentum: float, weight_decay: float,
                 decay_rate: float, decay_epochs: float, train_size: int, batch_size: int):
        super().__init__()
        self.model, self.augment, self.seed = model, augment, seed
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.decay_rate, self.decay_epochs = decay_rate, decay_epochs
        self.train_size, self.batch_size = train_size, batch_size
        self._val: list = []

    def training_step(self, batch, batch_idx):
        x, d, y, _ = batch
        x, d = augment_batch(x, d, self.augment, self.seed, self.current_epoch, batch_idx)
        loss = F.binary_cross_entropy_with_logits(self.model(x, d), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False, batch_size=x.shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        x, d, y, _ = batch
        logits = self.model(x, d)
        self.log("val_loss", F.binary_cross_entropy_with_logits(logits, y), on_epoch=True, batch_size=x.shape[0])
        self._val.append((torch.sigmoid(logits).detach().cpu().numpy(), y.cpu().numpy()))

    def on_validation_epoch_end(self):
        prob = np.concatenate([p for p, _ in self._val])
        label = np.concatenate([y for _, y in self._val])
        self._val = []
        rep = classification_report(prob, label)
        self.log("val_accuracy", rep.accuracy, prog_bar=True)
        for k in ("average_precision", "roc_auc"):
            v = getattr(rep, k)
            self.log(f"val_{k}", 0.0 if math.isnan(v) else v)

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if name.endswith("bias") else decay).append(p)
        opt = torch.optim.SGD([{"params": decay, "weight_decay": self.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=self.lr, momentum=self.momentum)
        step_samples = self.decay_epochs * self.train_size

        def factor(step: int) -> float:
            return self.decay_rate ** math.floor(step * self.batch_size / step_samples)

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
