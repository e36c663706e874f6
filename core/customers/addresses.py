"""Address matching: the normalised form a building and a booking address are compared by."""

from __future__ import annotations

import re

_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "place": "pl", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "terrace": "ter", "parkway": "pkwy", "highway": "hwy",
    "east": "e", "west": "w", "north": "n", "south": "s", "square": "sq", "plaza": "plz",
}


def normalize_address(line1: str, zip_code: str) -> str:
    """"245 East 72nd Street", "10021-1234" → "245 e 72 st|10021" (case, punctuation, ordinals, suffixes)."""
    text = re.sub(r"[^a-z0-9 ]+", " ", (line1 or "").lower())
    words = [_WORDS.get(w, w) for w in text.split()]
    words = [re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", w) for w in words]
    return f"{' '.join(words)}|{(zip_code or '').strip()[:5]}"
