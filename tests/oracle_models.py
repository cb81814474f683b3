"""Stand-in networks for tests: known maps whatever the input, behind the model interface."""
from pathlib import Path

import torch

from grasplab.models import GraspMapModel, register_model


@register_model("peak_oracle_for_tests")
class PeakOracle(GraspMapModel):
    """A Gaussian quality blob (height 1, σ = 3 px) at output pixel (row, col), angle 0, width 0.2
    (30 px), whatever the input."""

    def __init__(self, input_channels: int = 1, row: int = 48, col: int = 60):
        super().__init__(input_channels=input_channels, row=row, col=col)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def head_output(self, x):
        b, _, h, w = x.shape
        y, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        q = torch.exp(-((y - self.config["row"]) ** 2 + (xx - self.config["col"]) ** 2) / 18.0).expand(b, 1, h, w)
        return torch.cat([q, torch.ones_like(q), torch.zeros_like(q), torch.full_like(q, 0.2)], dim=1)


def save_for_detection(model: GraspMapModel, path: Path, crop: str = "resize", output_px: int = 96) -> Path:
    """The model saved with the preprocessing a detector or an evaluation reads."""
    return model.save(path, metadata={"preprocess": {"inputs": "depth", "output_px": output_px, "crop": crop}})
