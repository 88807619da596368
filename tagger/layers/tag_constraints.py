"""Which tag may follow which: transition constraints of tagging schemes.

The CRF adds a large negative score to every transition these masks forbid,
so decoding never produces an invalid tag sequence (e.g. ``O`` then ``I-PER``
in IOB2). Same rules as AllenNLP's ``allowed_transitions``.
"""

from __future__ import annotations

import numpy as np

SCHEMES = ("iob1", "iob2", "bio", "bioes", "bilou")


def _parse_tag(tag, scheme, prefixes):
    if tag == "O":
        return "O", None
    prefix, sep, entity = str(tag).partition("-")
    prefix = {"L": "E", "U": "S"}.get(prefix, prefix) if scheme == "bilou" else prefix
    if not sep or not entity or prefix not in prefixes:
        raise ValueError(
            f"Tag {tag!r} does not fit scheme {scheme!r}: expected 'O' or "
            f"'<prefix>-<type>' with prefix in {sorted(prefixes)}."
        )
    return prefix, entity


def allowed_transitions(tag_names, scheme):
    """Boolean masks ``(transitions [K, K], start [K], end [K])`` for a scheme.

    ``scheme``: "iob2" (= "bio"), "iob1", or "bioes" (= "bilou", with L/U for
    E/S). Same rules as AllenNLP's ``allowed_transitions``: e.g. in IOB2
    ``I-X`` may only follow ``B-X`` or ``I-X``, never ``O``, ``I-Y``, or the start.
    """
    scheme = str(scheme).lower()
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tagging scheme: {scheme!r}. Expected one of {SCHEMES}.")
    prefixes = {"iob1": "BI", "iob2": "BI", "bio": "BI"}.get(scheme, "BIES")
    parsed = [_parse_tag(tag, scheme, set(prefixes)) for tag in tag_names]
    k = len(parsed)
    allowed = np.zeros((k, k), dtype=bool)
    for i, (p_from, e_from) in enumerate(parsed):
        for j, (p_to, e_to) in enumerate(parsed):
            same = e_from == e_to
            if scheme == "iob1":
                ok = p_to in "OI" or (p_to == "B" and p_from in "BI" and same)
            elif scheme in ("iob2", "bio"):
                ok = p_to in "OB" or (p_to == "I" and p_from in "BI" and same)
            else:
                ok = (p_from in "OES" and p_to in "OBS") or (
                    p_from in "BI" and p_to in "IE" and same
                )
            allowed[i, j] = ok
    if scheme == "iob1":
        start = [p in "OI" for p, _ in parsed]
    elif scheme in ("iob2", "bio"):
        start = [p in "OB" for p, _ in parsed]
    else:
        start = [p in "OBS" for p, _ in parsed]
    end = [p in ("OBI" if prefixes == "BI" else "OES") for p, _ in parsed]
    return allowed, np.array(start, dtype=bool), np.array(end, dtype=bool)
