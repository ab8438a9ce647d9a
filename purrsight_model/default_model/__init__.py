"""The shipped default model: built from real data (``build``), stored small (``pack``),
assembled into a runnable bundle from the installed weight packages (``assemble``)."""

from purrsight_model.default_model.assemble import (
    AssembleError,
    assemble,
    bundle_dir,
    is_current,
    source_dir,
)

__all__ = ["AssembleError", "assemble", "bundle_dir", "is_current", "source_dir"]
