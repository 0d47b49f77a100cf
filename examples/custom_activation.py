"""A user activation with a hand-written derivative (an.nn.Lambda), verified by an.gradcheck.

The "swish" x * sigmoid(x) has derivative s + x s (1 - s). A wrong derivative is caught.

Run: python examples/custom_activation.py
"""
import numpy as np

import autonn as an


def swish(x):
    return x / (1 + np.exp(-x))


def swish_derivative(x):
    s = 1 / (1 + np.exp(-x))
    return s + x * s * (1 - s)


def wrong_derivative(x):
    return 1 / (1 + np.exp(-x))        # forgets the x s (1 - s) term


x = an.tensor(np.linspace(-2, 2, 7), requires_grad=True)
good = an.nn.Lambda(swish, swish_derivative)
print("hand-written derivative passes gradcheck:", an.gradcheck(good, (x,)))

bad = an.nn.Lambda(swish, wrong_derivative)
report = an.gradcheck_report(bad, (x,))
print("wrong derivative passes gradcheck:", report.passed)
assert not report.passed
try:
    an.gradcheck(bad, (x,))
except an.GradcheckError as e:
    print("gradcheck says:", str(e).splitlines()[0])

model = an.nn.Sequential(an.nn.Linear(3, 4), good, an.nn.Linear(4, 1))
out = model(an.randn(5, 3)).sum()
out.backward()
print("a network with the custom activation trains too; grad norm:",
      float(np.linalg.norm(model[0].weight.grad.data)))
