"""Probability distributions, as ``scipy.stats``, differentiable with respect to the variate and
the parameters: ``an.stats.norm.logpdf(x, loc, scale)``, ``an.stats.t.cdf(x, df)``...

Each distribution is a module of functions with SciPy's names and signatures:

========================  =====================================================================
``norm``                  ``logpdf pdf cdf logcdf sf logsf`` (x, loc=0, scale=1)
``t``                     ``logpdf pdf cdf logcdf`` (x, df, loc=0, scale=1)
``beta``                  ``logpdf pdf cdf`` (x, a, b, loc=0, scale=1)
``gamma``                 ``logpdf pdf cdf`` (x, a, loc=0, scale=1)
``chi2``                  ``logpdf pdf cdf`` (x, df, loc=0, scale=1)
``poisson``               ``logpmf pmf cdf`` (k, mu, loc=0)
``dirichlet``             ``logpdf pdf`` (x, alpha)
``multivariate_normal``   ``logpdf pdf`` (x, mean=None, cov=1), ``entropy`` (mean=None, cov=1)
========================  =====================================================================

They are compositions of autonn ops (``autonn.special``), so every order of derivative exists
where the function is smooth. Derivatives without a closed form raise ``NotImplementedError``
when asked for (the cdfs with respect to ``t``'s ``df`` and ``beta``/``gamma``/``chi2``'s shape
parameters, as in HIPS autograd); counts (``poisson``'s ``k``) have none. Outside the support the
values are SciPy's (``logpdf`` is ``-inf``, ``pdf`` 0) and the gradients 0. Loaded on first use
(SciPy is imported then).

>>> import autonn as an
>>> x = an.tensor([0.5], requires_grad=True)
>>> an.stats.norm.logpdf(x).sum().backward(); x.grad      # d/dx of -x**2/2
tensor([-0.5])
"""
from . import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: F401

DISTRIBUTIONS = {"norm": ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"),
                 "t": ("logpdf", "pdf", "cdf", "logcdf"),
                 "beta": ("logpdf", "pdf", "cdf"),
                 "gamma": ("logpdf", "pdf", "cdf"),
                 "chi2": ("logpdf", "pdf", "cdf"),
                 "poisson": ("logpmf", "pmf", "cdf"),
                 "dirichlet": ("logpdf", "pdf"),
                 "multivariate_normal": ("logpdf", "pdf", "entropy")}
