"""``conv2d``: 2-D cross-correlation, NCHW, as im2col + one BLAS matmul; its gradient ops."""
import operator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._rules import sum_terms
from ..base import Op, apply
from ..shape import Reshape, Sum, reshape
from ._common import _t


def _pair(v, name, op_name, minimum):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    else:
        try:
            v = tuple(operator.index(a) for a in v)
        except TypeError:
            raise TypeError(f"{op_name}: {name} must be an int or a pair of ints, got {v!r}") from None
        if len(v) != 2:
            raise ValueError(f"{op_name}: {name} must be an int or a pair of ints, got {v!r}")
    if min(v) < minimum:
        raise ValueError(f"{op_name}: {name} must be >= {minimum}, got {v}")
    if max(v) > 1 << 31:
        raise ValueError(f"{op_name}: {name} {v} is too large")
    return v


class _Geom:
    """Stride, padding ((top, bottom), (left, right)) and dilation of a convolution."""
    __slots__ = ("stride", "pad", "dilation")

    def __init__(self, stride, pad, dilation):
        self.stride, self.pad, self.dilation = stride, pad, dilation

    def padded(self, x, value=0):
        (pt, pb), (pl, pr) = self.pad
        if not (pt or pb or pl or pr):
            return x
        N, C, H, W = x.shape
        out = np.full((N, C, H + pt + pb, W + pl + pr), value, dtype=x.dtype)
        out[:, :, pt:pt + H, pl:pl + W] = x
        return out

    def out_size(self, H, W, kh, kw):
        (pt, pb), (pl, pr) = self.pad
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return ((H + pt + pb - dh * (kh - 1) - 1) // sh + 1,
                (W + pl + pr - dw * (kw - 1) - 1) // sw + 1)

    def windows(self, xp, kh, kw, Ho, Wo):
        """Read-only view (N, C, kh, kw, Ho, Wo) of the padded input's receptive fields."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        s0, s1, s2, s3 = xp.strides
        N, C = xp.shape[:2]
        return as_strided(xp, (N, C, kh, kw, Ho, Wo),
                          (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw), writeable=False)

    def im2col(self, x, kh, kw):
        """Columns (C*kh*kw, N*Ho*Wo) of ``x`` (N, C, H, W), and (Ho, Wo): one GEMM per op."""
        N, C, H, W = x.shape
        Ho, Wo = self.out_size(H, W, kh, kw)
        win = self.windows(self.padded(x), kh, kw, Ho, Wo)
        return win.transpose(1, 2, 3, 0, 4, 5).reshape(C * kh * kw, N * Ho * Wo), (Ho, Wo)

    def col2im(self, cols, x_shape, kh, kw, Ho, Wo):
        """Adjoint of im2col: scatter-add columns (C*kh*kw, N*Ho*Wo) into an (N, C, H, W) array."""
        N, C, H, W = x_shape
        (pt, pb), (pl, pr) = self.pad
        (sh, sw), (dh, dw) = self.stride, self.dilation
        out = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=cols.dtype)
        view = out.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp), matching the columns' layout
        c6 = cols.reshape(C, kh, kw, N, Ho, Wo)
        for i in range(kh):
            r = i * dh
            for j in range(kw):
                c = j * dw
                view[:, :, r:r + sh * (Ho - 1) + 1:sh, c:c + sw * (Wo - 1) + 1:sw] += c6[:, i, j]
        if pt or pb or pl or pr:
            out = np.ascontiguousarray(out[:, :, pt:pt + H, pl:pl + W])
        return out


def _rows_of(g):
    """(N, O, Ho, Wo) -> (O, N*Ho*Wo), the layout of a convolution's GEMM output."""
    N, O, Ho, Wo = g.shape
    return g.transpose(1, 0, 2, 3).reshape(O, N * Ho * Wo)


def _bilinear_jvp(op, tangents, a, b):
    da, db = tangents[0], tangents[1]
    return sum_terms(*[apply(op, da, b) if da is not None else None,
                       apply(op, a, db) if db is not None else None])


class Conv2d(Op):
    """2-D cross-correlation, NCHW; inputs ``(x, W)`` or ``(x, W, b)``. im2col + one batched GEMM."""
    __slots__ = ("geom",)

    def __init__(self, geom):
        self.geom = geom

    def forward(self, x, W, b=None):
        N = x.shape[0]
        O, C, kh, kw = W.shape
        cols, (Ho, Wo) = self.geom.im2col(x, kh, kw)
        y = np.dot(W.reshape(O, C * kh * kw), cols)  # (O, N*Ho*Wo)
        if b is not None:
            y += b.reshape(O, 1).astype(y.dtype, copy=False)
        return np.ascontiguousarray(y.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3))

    def vjp(self, g, out, x, W, b=None):
        dx = apply(Conv2dInputGrad(self.geom, x.shape), g, W) if x.requires_grad else None
        dW = apply(Conv2dWeightGrad(self.geom, W.shape), x, g) if W.requires_grad else None
        db = apply(Sum((0, 2, 3), False), g) if b is not None and b.requires_grad else None
        return dx, dW, db

    def jvp(self, tangents, out, x, W, b=None):
        conv = Conv2d(self.geom)
        parts = [_bilinear_jvp(conv, tangents, x, W)]
        if b is not None and tangents[2] is not None:
            parts.append(apply(Reshape((b.shape[0], 1, 1)), tangents[2]))
        return sum_terms(*parts)


class Conv2dInputGrad(Op):
    """``dx`` of a convolution from ``(g, W)`` (col2im of ``W^T g``); bilinear in (g, W)."""
    __slots__ = ("geom", "x_shape")

    def __init__(self, geom, x_shape):
        self.geom, self.x_shape = geom, x_shape

    def forward(self, g, W):
        N, O, Ho, Wo = g.shape
        _, C, kh, kw = W.shape
        cols = np.dot(W.reshape(O, C * kh * kw).T, _rows_of(g))
        return self.geom.col2im(cols, self.x_shape, kh, kw, Ho, Wo)

    def vjp(self, gg, out, g, W):
        dg = apply(Conv2d(self.geom), gg, W) if g.requires_grad else None
        dW = apply(Conv2dWeightGrad(self.geom, W.shape), gg, g) if W.requires_grad else None
        return dg, dW

    def jvp(self, tangents, out, g, W):
        return _bilinear_jvp(Conv2dInputGrad(self.geom, self.x_shape), tangents, g, W)


class Conv2dWeightGrad(Op):
    """``dW`` of a convolution from ``(x, g)``; bilinear in (x, g)."""
    __slots__ = ("geom", "w_shape")

    def __init__(self, geom, w_shape):
        self.geom, self.w_shape = geom, w_shape

    def forward(self, x, g):
        O, C, kh, kw = self.w_shape
        cols, _ = self.geom.im2col(x, kh, kw)
        return np.dot(_rows_of(g), cols.T).reshape(self.w_shape)

    def vjp(self, ww, out, x, g):
        dx = apply(Conv2dInputGrad(self.geom, x.shape), g, ww) if x.requires_grad else None
        dg = apply(Conv2d(self.geom), x, ww) if g.requires_grad else None
        return dx, dg

    def jvp(self, tangents, out, x, g):
        return _bilinear_jvp(Conv2dWeightGrad(self.geom, self.w_shape), tangents, x, g)


def _conv_padding(padding, kernel, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"conv2d: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = _pair(padding, "padding", "conv2d", 0)
    return ((ph, ph), (pw, pw))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation) as ``torch.nn.functional.conv2d``.

    ``x`` is ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``), ``weight`` is
    ``(C_out, C_in, kh, kw)``, ``bias`` ``(C_out,)``. ``stride``, ``padding`` (zeros) and
    ``dilation`` are ints or pairs; ``padding`` may also be ``'valid'`` or ``'same'``.

    >>> import autonn as an
    >>> from autonn.ops.nn import conv2d
    >>> y = conv2d(an.ones((1, 1, 3, 3)), an.ones((2, 1, 2, 2)), padding=1)
    >>> y.shape, y[0, 0, 1, 1].item()
    ((1, 2, 4, 4), 4.0)
    """
    x, weight = _t(x), _t(weight)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {weight.shape} (input shape {x.shape})")
    unbatched = x.ndim == 3
    if x.ndim not in (3, 4):
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape "
                         f"{x.shape} (weight shape {weight.shape})")
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    O, Cw, kh, kw = weight.shape
    N, C, H, W = x.shape
    if C != Cw:
        raise ValueError(f"conv2d: input shape {x.shape} has {C} channels but weight shape "
                         f"{weight.shape} expects {Cw} input channels (weight is "
                         "(out_channels, in_channels, kh, kw))")
    stride = _pair(stride, "stride", "conv2d", 1)
    dilation = _pair(dilation, "dilation", "conv2d", 1)
    geom = _Geom(stride, _conv_padding(padding, (kh, kw), dilation, stride), dilation)
    (pt, pb), (pl, pr) = geom.pad
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > H + pt + pb or ew > W + pl + pr or kh == 0 or kw == 0:
        raise ValueError(f"conv2d: kernel size ({kh}, {kw}) with dilation {dilation} (effective "
                         f"({eh}, {ew})) is larger than the padded input ({H + pt + pb}, "
                         f"{W + pl + pr}); input shape {x.shape}, weight shape {weight.shape}")
    inputs = (x, weight)
    if bias is not None:
        bias = _t(bias)
        if bias.shape != (O,):
            raise ValueError(f"conv2d: bias shape {bias.shape} does not match weight shape "
                             f"{weight.shape}: expected ({O},)")
        inputs += (bias,)
    y = apply(Conv2d(geom), *inputs)
    return reshape(y, y.shape[1:]) if unbatched else y

