"""The course's worked example: three linear layers with identity activations "compress" into one,
W = W01 W12 W23 and b = b1 W12 W23 + b2 W23 + b3, and an.nn.compress finds the same layer.

Run: python examples/compress.py
"""
import numpy as np

import autonn as an

an.manual_seed(0)
net = an.nn.Sequential(an.nn.Linear(5, 4), an.nn.Linear(4, 3), an.nn.Linear(3, 2))
(W01, b1), (W12, b2), (W23, b3) = [(layer.weight.data, layer.bias.data) for layer in net]

W = W01 @ W12 @ W23                      # the course's closed form
b = b1 @ W12 @ W23 + b2 @ W23 + b3

one_layer = an.nn.compress(net)          # the same, found by autonn
print(one_layer)
np.testing.assert_allclose(one_layer[0].weight.data, W, rtol=1e-12)
np.testing.assert_allclose(one_layer[0].bias.data, b, rtol=1e-12)

x = an.randn(8, 5)
with an.no_grad():
    np.testing.assert_allclose(net(x).data, one_layer(x).data, rtol=1e-10, atol=1e-12)
print(f"3 layers ({sum(p.size for p in net.parameters())} parameters) -> "
      f"1 layer ({sum(p.size for p in one_layer.parameters())} parameters), same predictions")
