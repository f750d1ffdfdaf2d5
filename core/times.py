"""How a time in a video reads: one function, so the CLI and the window print the same second.

(The CLI truncated where the window floored with a small epsilon: 82.9999 read 1:22 in one and
1:23 in the other.)
"""

from __future__ import annotations

import math


def clock(seconds: float) -> str:
    """``83.4`` → ``1:23``; ``3723`` → ``1:02:03`` (video players' style, no leading zero)."""
    s = max(0, math.floor(seconds + 1e-6))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
