"""``autonn.fft``: NumPy's ``numpy.fft`` transforms on Tensors, differentiable (complex
gradients in HIPS autograd's and JAX's convention; see ``autonn.ops.fft``).

>>> import autonn as an
>>> x = an.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> an.real(an.fft.fft(x)).sum().backward(); x.grad      # sum_k Re(X_k) = 4 x_0
tensor([4., 0., 0., 0.])
"""
from .ops import fft as _ops_fft
from .ops.fft import (fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2,  # noqa: F401
                      rfftn, irfftn, fftshift, ifftshift)
from numpy.fft import fftfreq, rfftfreq  # noqa: F401,E402  (plain arrays: no gradient to take)

# (a sum of lists, which the API reference's static reader can follow)
__all__ = _ops_fft.__all__ + ["fftfreq", "rfftfreq"]
