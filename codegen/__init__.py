"""The generator: ``spec/`` (published OpenAPI, our overlay, our metadata) -> generated files.

Not shipped in the wheel. ``python -m codegen`` writes every generated file; ``python -m codegen --check``
exits non-zero listing the files that differ from what the spec produces (or are missing / left over).

Layout: :mod:`codegen.load` reads and merges the inputs into a normalised model; each output kind is one
module with a ``render(api) -> {relative path: text}`` function, listed in :data:`codegen.outputs.OUTPUTS`.
"""
