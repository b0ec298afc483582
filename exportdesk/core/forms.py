from typing import Any


class NoLabelSuffix:
    """Labels sit above their fields, so no colon is appended (it reads oddly in Japanese)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
