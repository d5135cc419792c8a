"""Keep a broken torchvision from breaking transformers (issue 17).

transformers imports torchvision whenever it is installed. A torchvision wheel built for another torch (PyPI's, next to
a CPU-only torch: "operator torchvision::nms does not exist") then fails inside `from transformers import BertModel`,
so a package that merely pulled torchvision in (imagen-pytorch does) would break every openimagen command. openimagen
never needs torchvision: when it is installed but cannot be imported, it is hidden from transformers, with a warning.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings


def hide_broken_torchvision() -> None:
    """Call before importing transformers. Costs a `find_spec` when torchvision is absent (the usual case)."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return
    try:
        import torchvision  # noqa: F401
    except Exception as error:                      # RuntimeError for the missing C++ operators, ImportError, ...
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision"] = None           # find_spec -> None, import -> ImportError: "not installed"
        warnings.warn(f"the installed torchvision cannot be imported ({type(error).__name__}: "
                      f"{str(error).splitlines()[0] if str(error) else ''}); openimagen does not need it and runs "
                      "without it (uninstall it, or install the build that matches your torch)", RuntimeWarning,
                      stacklevel=2)
