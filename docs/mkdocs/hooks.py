"""MkDocs hook: the page "Differentiating NumPy code" gets its table of supported functions
from the op registry at build time (autonn.testing.support), so it is never typed by hand."""
PLACEHOLDER = "<!-- supported functions: generated from the registry -->"


def on_page_markdown(markdown, page, **kwargs):
    if PLACEHOLDER not in markdown:
        return markdown
    from autonn.testing.support import markdown_table
    return markdown.replace(PLACEHOLDER, markdown_table())
