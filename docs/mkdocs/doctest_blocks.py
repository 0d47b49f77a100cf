"""A griffe extension for the API reference: the docstrings' doctest examples (``>>>`` lines
and the output under them) become fenced ``pycon`` blocks, so Markdown shows them as code."""
import griffe


def doctests_as_code(text):
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent):])
                i += 1
            out += [indent + "```pycon", *(indent + b for b in block), indent + "```"]
        else:
            out.append(line)
            i += 1
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = doctests_as_code(obj.docstring.value)
