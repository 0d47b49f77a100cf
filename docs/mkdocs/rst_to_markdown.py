"""A griffe extension for the API reference: the docstrings' reStructuredText habits shown as
Markdown, and a class's special members (``__slots__``, ``__repr__``, ...) left out unless
they have a docstring of their own. Doctest examples (``>>>`` lines and the output under them), literal blocks (a
paragraph ending in ``::``) and simple tables (``=====`` rules) become fenced code blocks, and
roles such as :func:`name` become code spans."""
import re

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc):`~?([^`]+)`")


def _indent(line):
    return len(line) - len(line.lstrip())


def _fence(lines, language):
    pad = min((_indent(l) for l in lines if l.strip()), default=0)
    return ["```" + language, *(l[pad:] for l in lines), "```"]


def rst_to_markdown(text):
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):                       # a doctest: up to a blank line
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += _fence(block, "pycon")
        elif re.fullmatch(r"=+( +=+)+", stripped):          # a simple table: three rules
            block, rules = [], 0
            while i < len(lines) and rules < 3 and lines[i].strip():
                rules += bool(re.fullmatch(r"=+( +=+)+", lines[i].strip()))
                block.append(lines[i])
                i += 1
            out += _fence(block, "text")
        elif stripped.endswith("::") and not stripped.startswith(".."):   # a literal block
            out.append(_ROLE.sub(r"`\1`", line[:-1] if stripped != "::" else ""))
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block = []
            base = _indent(line)
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", *_fence(block, "text"), ""]
        else:
            out.append(_ROLE.sub(r"`\1`", line))
            i += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
        if obj.is_class:
            for name, member in list(obj.members.items()):
                if re.fullmatch(r"__\w+__", name) and name != "__init__" and not _has_doc(member):
                    del obj.members[name]


def _has_doc(member):
    try:
        return member.docstring is not None
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):  # an alias that does not resolve
        return False
