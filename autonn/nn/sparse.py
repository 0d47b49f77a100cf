"""``Embedding``: a lookup table of learnable vectors."""
from .._validate import check_size
from . import functional as F
from . import init
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Row ``i`` of ``weight`` (shape ``(num_embeddings, embedding_dim)``, drawn from N(0, 1)) for
    each integer index ``i`` of the input; the gradient scatter-adds, so repeated indices
    accumulate.

    >>> import autonn as an
    >>> emb = an.nn.Embedding(10, 3)
    >>> emb(an.tensor([[1, 2], [4, 1]])).shape
    (2, 2, 3)
    >>> emb
    Embedding(10, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        dtype = _dtype(dtype)
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        self.weight = Parameter(init._storage((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Draw the weight from N(0, 1), as PyTorch."""
        init.normal_(self.weight)

    def forward(self, input):
        return F.embedding(input, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def _config(self):
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "dtype": self.weight.dtype}
