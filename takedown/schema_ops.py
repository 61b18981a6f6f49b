"""Schema migrations of the ops area (registered on the shared migration set, in file order).

Add new migrations at the end of this file; never edit one that has shipped.
"""
from __future__ import annotations

import sqlite_utils  # noqa: F401

from .db import migrations  # noqa: F401
