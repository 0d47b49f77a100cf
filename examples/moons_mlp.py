"""A small tanh MLP separates the two moons (binary classification with BCEWithLogitsLoss).

Run: python examples/moons_mlp.py
"""
import numpy as np

import autonn as an
from autonn.datasets import make_moons

an.manual_seed(1)
X, y = make_moons(n_samples=400, noise=0.1, seed=1)
Xt, yt = an.tensor(X), an.tensor(y.astype(np.float64).reshape(-1, 1))
model = an.nn.Sequential(an.nn.Linear(2, 16), an.nn.Tanh(), an.nn.Linear(16, 16), an.nn.Tanh(),
                         an.nn.Linear(16, 1))
opt = an.optim.Adam(model.parameters(), lr=0.02)
loss_fn = an.nn.BCEWithLogitsLoss()
for _step in range(300):
    opt.zero_grad()
    loss = loss_fn(model(Xt), yt)
    loss.backward()
    opt.step()

with an.no_grad():
    acc = float(np.mean((model(Xt).data[:, 0] > 0) == (y == 1)))
print(f"final loss {loss.item():.4f}, training accuracy {acc:.3f}")
assert acc > 0.95
