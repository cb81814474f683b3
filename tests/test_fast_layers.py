"""The inference re-expressions compute the same function as the layers they replace."""
import numpy as np
import pytest
import torch
from torch import nn

from grasplab.models import GGCNN, GGCNN2
from grasplab.models.layers import SubPixelConvTranspose2d


@pytest.mark.parametrize("c_in,c_out,k,s,p,op,size", [
    (16, 32, 9, 3, 3, 1, (20, 17)),     # GG-CNN's last layer, non-square input
    (8, 16, 5, 2, 2, 1, (13, 13)),
    (8, 8, 3, 2, 1, 1, (7, 9)),
    (4, 6, 4, 2, 1, 0, (10, 10)),       # kernel not a multiple of the stride: zero taps
    (3, 5, 7, 3, 0, 2, (6, 8)),
])
def test_subpixel_equals_transposed_convolution(c_in, c_out, k, s, p, op, size):
    torch.manual_seed(0)
    deconv = nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op)
    x = torch.randn(2, c_in, *size)
    with torch.no_grad():
        ref = deconv(x)
        out = SubPixelConvTranspose2d(deconv)(x)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)


def test_subpixel_rejects_unsupported_layers():
    with pytest.raises(ValueError, match="square"):
        SubPixelConvTranspose2d(nn.ConvTranspose2d(2, 2, (3, 5), stride=2))


@pytest.mark.parametrize("cls,channels,side", [(GGCNN, 1, 300), (GGCNN, 4, 96), (GGCNN2, 1, 64)])
def test_inference_form_gives_the_same_maps(cls, channels, side):
    torch.manual_seed(1)
    model = cls(input_channels=channels).eval()
    for prm in model.parameters():
        nn.init.normal_(prm, 0, 0.1)
    x = torch.randn(1, channels, side, side)
    fast = model.for_inference()
    with torch.no_grad():
        ref = model(x)
        out = fast(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(out, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert any(p.requires_grad for p in model.parameters())      # the original is untouched
