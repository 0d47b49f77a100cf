"""``autonn.fft``: NumPy's ``numpy.fft`` transforms on Tensors, differentiable (complex
gradients in HIPS autograd's and JAX's convention; see ``autonn.ops.fft``).

>>> import autonn as an
>>> x = an.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> an.real(an.fft.fft(x)).sum().backward(); x.grad      # sum_k Re(X_k) = 4 x_0
tensor([4., 0., 0., 0.])
"""
from numpy.fft import fftfreq, rfftfreq  # noqa: F401  (plain arrays: no gradient to take)

from .ops import fft as _ops_fft
from .ops.fft import (  # noqa: F401
    fft,
    fft2,
    fftn,
    fftshift,
    ifft,
    ifft2,
    ifftn,
    ifftshift,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftn,
)

# (a sum of lists, which the API reference's static reader can follow)
__all__ = _ops_fft.__all__ + ["fftfreq", "rfftfreq"]
