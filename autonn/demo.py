"""``autonn demo``: train an MLP on the bundled 8x8 handwritten digits.

Shows a tqdm progress bar with loss and accuracy, reports held-out accuracy, saves the model
(``an.nn.save_network``) and, when matplotlib is installed, a loss/accuracy plot. It also trains
the course's three linear layers (64-32-16-10, no activation between them) and saves them, so
that ``autonn compress`` has something to fold: three layers into one, same predictions.

>>> from autonn.demo import train_digits
>>> result = train_digits(epochs=2, progress=False)
>>> 0.0 <= result["test_accuracy"] <= 1.0
True
"""
import os
import time

import numpy as np

import autonn as an


def _split(X, y, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def build_model(hidden=(128, 64), n_in=64, n_out=10):
    """The demo's MLP: Linear+ReLU blocks (fused kernels) and a Linear output layer."""
    layers, width = [], n_in
    for h in hidden:
        layers += [an.nn.Linear(width, h), an.nn.ReLU()]
        width = h
    layers.append(an.nn.Linear(width, n_out))
    return an.nn.Sequential(*layers)


def build_linear_model(widths=(64, 32, 16, 10)):
    """The course's stack of linear layers with no activation between them: it computes one
    affine map, which ``an.nn.compress`` folds into a single ``Linear``."""
    return an.nn.Sequential(*[an.nn.Linear(a, b) for a, b in zip(widths, widths[1:])])


def accuracy(model, X, y):
    """Fraction of rows of ``X`` whose argmax prediction equals ``y``."""
    with an.no_grad():
        model.eval()
        pred = an.argmax(model(an.tensor(X)), axis=1).data
        model.train()
    return float(np.mean(pred == y))


def train_digits(epochs=30, batch_size=32, lr=1e-3, seed=0, progress=True, dtype=np.float32,
                 build=build_model):
    """Train the demo MLP (or ``build()``'s model); returns a dict with the model, history and
    accuracies."""
    from .datasets import load_digits
    an.manual_seed(seed)
    X, y = load_digits(dtype=dtype)
    Xtr, ytr, Xte, yte = _split(X, y, 0.2, seed)
    model = build()
    if dtype is not None:
        for p in model.parameters():
            p.data = p.data.astype(dtype)
    loss_fn = an.nn.CrossEntropyLoss()
    opt = an.optim.Adam(model.parameters(), lr=lr)
    loader = an.data.DataLoader(an.data.TensorDataset(an.tensor(Xtr), an.tensor(ytr)),
                                batch_size=batch_size, shuffle=True, seed=seed)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    bar = _progress(epochs, progress)
    start = time.perf_counter()
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        history["loss"].append(total / count)
        history["train_accuracy"].append(accuracy(model, Xtr, ytr))
        history["test_accuracy"].append(accuracy(model, Xte, yte))
        if bar is not None:
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}",
                            acc=f"{history['test_accuracy'][-1]:.3f}")
            bar.update(1)
    if bar is not None:
        bar.close()
    return {"model": model, "history": history, "seconds": time.perf_counter() - start,
            "test_accuracy": history["test_accuracy"][-1], "n_train": len(Xtr), "n_test": len(Xte)}


def _progress(total, enabled):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc="epochs", unit="epoch")


def save_plot(history, path):
    """Write the loss/accuracy curves to ``path``; returns False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax1.plot(epochs, history["loss"])
    ax1.set(xlabel="epoch", ylabel="training loss", title="Cross-entropy loss")
    ax2.plot(epochs, history["train_accuracy"], label="train")
    ax2.plot(epochs, history["test_accuracy"], label="held-out")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def run(args):
    """Entry point of ``autonn demo``."""
    result = train_digits(args.epochs, args.batch_size, args.lr, args.seed,
                          progress=not args.no_progress)
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "digits_mlp.safetensors")
    an.nn.save_network(result["model"], model_path)
    n_params = sum(p.size for p in result["model"].parameters())
    print(f"digits: {result['n_train']} training / {result['n_test']} held-out images, "
          f"MLP 64-128-64-10 ({n_params} parameters)")
    print(f"held-out accuracy: {result['test_accuracy']:.4f} after {args.epochs} epochs "
          f"in {result['seconds']:.1f} s")
    print(f"model saved to {model_path}")
    linear = train_digits(args.epochs, args.batch_size, args.lr, args.seed, progress=False,
                          build=build_linear_model)
    linear_path = os.path.join(args.out, "digits_linear3.safetensors")
    an.nn.save_network(linear["model"], linear_path)
    folded_path = os.path.join(args.out, "digits_linear1.safetensors")
    print(f"the course's three linear layers 64-32-16-10 (no activation between them): "
          f"held-out accuracy {linear['test_accuracy']:.4f}, saved to {linear_path}")
    print(f"  fold them into one Linear(64, 10) with the same predictions (up to rounding):\n"
          f"  autonn compress {linear_path} {folded_path}")
    plot_path = os.path.join(args.out, "digits_training.png")
    if save_plot(result["history"], plot_path):
        print(f"plot saved to {plot_path}")
    else:
        print("no plot: matplotlib is not installed (pip install 'autonn[plot]' to get it)")
    return 0
