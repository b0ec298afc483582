"""Where the shared real-world sample files are (never copied into the project).

`EXPORTDESK_SAMPLES` wins; otherwise the `shared/samples` folder beside the project, then the
workplace's `/work/shared/samples`, so a clean clone anywhere on this machine finds them too.
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    Path(os.environ["EXPORTDESK_SAMPLES"]) if os.environ.get("EXPORTDESK_SAMPLES") else None,
    Path(__file__).resolve().parents[2] / "shared" / "samples",
    Path("/work/shared/samples"),
]
SAMPLES = next((p for p in _CANDIDATES if p is not None and p.is_dir()), Path("/nonexistent"))
MT940_SAMPLES = SAMPLES / "bank-statements" / "mt940"
