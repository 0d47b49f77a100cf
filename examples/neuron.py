"""The course's single neuron f(x) = w x + b, learning w and b from points by gradient descent.

Run: python examples/neuron.py
"""
import numpy as np

import autonn as an

rng = np.random.default_rng(0)
true_w, true_b = 3.0, -1.0
x = an.tensor(rng.uniform(-2, 2, size=50))
y = true_w * x + true_b + an.tensor(rng.normal(0, 0.05, size=50))

w = an.tensor(0.0, requires_grad=True)
b = an.tensor(0.0, requires_grad=True)
lr = 0.1
for _step in range(200):
    loss = ((w * x + b - y) ** 2).mean()
    w.grad = b.grad = None
    loss.backward()
    with an.no_grad():
        w.data -= lr * w.grad.data
        b.data -= lr * b.grad.data

print(f"learned w = {w.item():.3f} (true {true_w}), b = {b.item():.3f} (true {true_b}), "
      f"loss = {loss.item():.5f}")
assert abs(w.item() - true_w) < 0.05 and abs(b.item() - true_b) < 0.05
