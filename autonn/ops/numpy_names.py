"""NumPy's names for autonn's arithmetic: the same functions under a second name.

>>> import autonn as an
>>> an.multiply is an.mul and an.true_divide is an.div
True
"""
from .elementary import abs
from .elementwise import div, mul, neg, pow, sub

absolute = abs
negative = neg
subtract = sub
multiply = mul
divide = div
true_divide = div
power = pow

__all__ = ["absolute", "negative", "subtract", "multiply", "divide", "true_divide", "power"]
