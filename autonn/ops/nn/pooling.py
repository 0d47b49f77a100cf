"""``max_pool2d`` over NCHW input."""
import numpy as np

from ...tensor import Tensor
from ..base import Op, apply
from ..elementwise import _MaskedLinear
from ..index import GetItem, ScatterAdd
from ..shape import Reshape, reshape
from ._common import _t
from .conv import _Geom, _pair


class MaxPool2d(Op):
    """Max over windows; the gradient goes to the first maximum of each window (row-major), as
    PyTorch. The winners are kept as flat indices into x; the rule is a ScatterAdd of them (whose
    own rule is a GetItem), so second derivatives come for free."""
    __slots__ = ("kernel", "geom", "ceil_mode", "flat", "keep")

    def __init__(self, kernel, geom, ceil_mode):
        self.kernel, self.geom, self.ceil_mode = kernel, geom, ceil_mode
        self.flat = self.keep = None

    def out_size(self, H, W):
        sizes = []
        for n, k, s, (p, _), d in zip((H, W), self.kernel, self.geom.stride, self.geom.pad,
                                      self.geom.dilation):
            span = n + 2 * p - d * (k - 1) - 1
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside
                o -= 1
            sizes.append(o)
        return tuple(sizes)

    def forward(self, x):
        N, C, H, W = x.shape
        kh, kw = self.kernel
        (sh, sw), (dh, dw) = self.geom.stride, self.geom.dilation
        ph, pw = self.geom.pad[0][0], self.geom.pad[1][0]
        Ho, Wo = self.out_size(H, W)
        extra_h = max(0, (Ho - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
        extra_w = max(0, (Wo - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        geom = _Geom((sh, sw), ((ph, ph + extra_h), (pw, pw + extra_w)), (dh, dw))
        win = geom.windows(geom.padded(x, fill), kh, kw, Ho, Wo)  # (N, C, kh, kw, Ho, Wo)
        k = win.reshape(N, C, kh * kw, Ho, Wo).argmax(axis=2)     # first maximum, as PyTorch
        ki, kj = np.divmod(k, kw)
        r0 = (np.arange(Ho) * sh - ph)[:, None]
        c0 = np.arange(Wo) * sw - pw
        rows, cols = r0 + ki * dh, c0 + kj * dw
        empty = None
        if ph or pw or extra_h or extra_w:
            bad = (rows < 0) | (rows >= H) | (cols < 0) | (cols >= W)
            if bad.any():  # a padding cell won: the window's real cells are all -inf (or the
                # dtype's minimum); take the window's first real cell instead
                fi, fj = np.maximum(0, -(r0 // dh)), np.maximum(0, -(c0 // dw))
                rows = np.where(bad, r0 + fi * dh, rows)
                cols = np.where(bad, c0 + fj * dw, cols)
                # with dilation a window can hold no real cell at all: its output is the fill
                # value and it passes no gradient
                empty = bad & ~(((fi < kh) & (r0 + fi * dh < H)) & ((fj < kw) & (c0 + fj * dw < W)))
                if empty.any():
                    rows, cols = np.where(empty, 0, rows), np.where(empty, 0, cols)
                else:
                    empty = None
        planes = (np.arange(N).reshape(N, 1, 1, 1) * C + np.arange(C).reshape(1, C, 1, 1)) * (H * W)
        self.flat = (planes + rows * W + cols).reshape(-1)
        self.keep = None if empty is None else (~empty).astype(x.dtype)
        y = np.ascontiguousarray(x).reshape(-1)[self.flat].reshape(N, C, Ho, Wo)
        return y if empty is None else np.where(empty, fill, y)

    def vjp(self, g, out, x):
        if self.keep is not None:
            g = apply(_MaskedLinear(self.keep.astype(g.dtype, copy=False)), g)
        g = apply(ScatterAdd(self.flat, (x.size,)), apply(Reshape((g.size,)), g))
        return apply(Reshape(x.shape), g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        y = apply(Reshape(out.shape), apply(GetItem(self.flat), apply(Reshape((x.size,)), dx)))
        if self.keep is not None:
            y = apply(_MaskedLinear(self.keep.astype(y.dtype, copy=False)), y)
        return y


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over NCHW input as ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; ``padding`` pads with -inf and must be at most half
    the kernel. The gradient flows to the first maximum of each window (row-major order), as
    PyTorch. ``return_indices=True`` also returns the winners' flat positions in each (H, W) plane.

    >>> import autonn as an
    >>> from autonn.ops.nn import max_pool2d
    >>> max_pool2d(an.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    x = _t(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got "
                         f"shape {x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d", 1)
    stride = kernel if stride is None else _pair(stride, "stride", "max_pool2d", 1)
    padding = _pair(padding, "padding", "max_pool2d", 0)
    dilation = _pair(dilation, "dilation", "max_pool2d", 1)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    H, W = x.shape[2:]
    eff = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if eff[0] > H + 2 * padding[0] or eff[1] > W + 2 * padding[1]:
        raise ValueError(f"max_pool2d: kernel size {kernel} with dilation {dilation} (effective "
                         f"{eff}) is larger than the padded input ({H + 2 * padding[0]}, "
                         f"{W + 2 * padding[1]}); input shape {x.shape}")
    op = MaxPool2d(kernel, _Geom(stride, ((padding[0],) * 2, (padding[1],) * 2), dilation),
                   bool(ceil_mode))
    y = apply(op, x)
    if unbatched:
        y = reshape(y, y.shape[1:])
    if return_indices:  # flat positions in each (H, W) plane, as PyTorch
        idx = (op.flat % (H * W)).astype(np.int64, copy=False).reshape(y.shape)
        return y, Tensor._make(idx)
    return y

