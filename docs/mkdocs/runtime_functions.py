"""A griffe extension for the API reference: a module attribute that is a function at run time
(the ops that ``elementwise(...)`` and its kin return, ``cos = elementwise("cos", ...)``, and
NumPy's other names for them, ``multiply = mul``) is
documented as that function, with its signature and docstring, instead of as an attribute whose
value is the source of the call. The objects are imported to read them. (rst_to_markdown, the
other extension, then converts the docstring as any other.)"""
import importlib
import inspect

import griffe


def as_function(attribute, obj):
    """A ``griffe.Function`` named as ``attribute``, with the signature and docstring of ``obj``."""
    parameters = griffe.Parameters(*(
        griffe.Parameter(p.name, kind=griffe.ParameterKind(p.kind.description),
                         annotation=None if p.annotation is p.empty else str(p.annotation),
                         default=None if p.default is p.empty else repr(p.default))
        for p in inspect.signature(obj).parameters.values()))
    returns = inspect.signature(obj).return_annotation
    return griffe.Function(attribute.name, lineno=attribute.lineno, endlineno=attribute.endlineno,
                           parameters=parameters,
                           returns=None if returns is inspect.Signature.empty else str(returns),
                           docstring=griffe.Docstring(inspect.cleandoc(obj.__doc__)))


class RuntimeFunctions(griffe.Extension):
    def on_module_members(self, *, mod, **kwargs):
        candidates = [name for name, member in mod.members.items()
                      if not member.is_alias and member.is_attribute and member.docstring is None
                      and isinstance(member.value, (griffe.ExprCall, griffe.ExprName))]
        if not candidates:
            return
        try:
            module = importlib.import_module(mod.path)
        except ImportError:  # (autonn.distributed without mpi4py): left as written
            return
        for name in candidates:
            obj = getattr(module, name, None)
            if inspect.isfunction(obj) and obj.__doc__:
                mod.set_member(name, as_function(mod.members[name], obj))
