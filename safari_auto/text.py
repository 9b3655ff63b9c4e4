"""How two message texts are compared: one rule for the CRM's de-duplication and for the
read-back that decides whether a DM went out.

NFKC folds what a platform may rewrite on the way (composed and decomposed accents, full-width
letters, ligatures, a no-break space); case-folding ignores case beyond ASCII ("Straße" and
"STRASSE"); runs of whitespace count as one space. For the send ledger a looser match is the
safe side: a message that goes unrecognised after a lost answer is sent again.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, case-folded (and normalised again: folding can leave a decomposed letter),
    whitespace collapsed, trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _SPACES.sub(" ", folded).strip()
