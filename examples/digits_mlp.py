"""Train an MLP on the bundled 8x8 handwritten digits with an.nn, an.optim and an.data.

Run: python examples/digits_mlp.py
"""
import numpy as np

import autonn as an
from autonn.datasets import load_digits

an.manual_seed(0)
X, y = load_digits(dtype=np.float32)
order = np.random.default_rng(0).permutation(len(X))
train, test = order[:1400], order[1400:]

model = an.nn.Sequential(an.nn.Linear(64, 64), an.nn.ReLU(), an.nn.Linear(64, 10))
for p in model.parameters():
    p.data = p.data.astype(np.float32)
opt = an.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = an.nn.CrossEntropyLoss()
loader = an.data.DataLoader(an.data.TensorDataset(an.tensor(X[train]), an.tensor(y[train])),
                            batch_size=64, shuffle=True, seed=0)
for _epoch in range(15):
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

with an.no_grad():
    pred = an.argmax(model(an.tensor(X[test])), axis=1).data
acc = float(np.mean(pred == y[test]))
print(f"held-out accuracy: {acc:.3f}")
assert acc > 0.9
