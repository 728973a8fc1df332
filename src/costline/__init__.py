"""costline: turn raw cloud bills into one trusted FOCUS 1.3 cost store.

Example:
    >>> import costline
    >>> costline.__version__
    '0.1.0'
"""

from __future__ import annotations

from costline.core.errors import CostlineError

__version__ = "0.1.0"

__all__ = ["CostlineError", "__version__"]
