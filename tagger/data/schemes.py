"""Tag schemes for spans over tokens: IOB1, IOB2 and BIOES.

- IOB1 (CoNLL-2003 release): an entity starts with ``I-X``; ``B-X`` is used
  only for an entity that directly follows another entity of the same type.
- IOB2 (CoNLL-2000, WNUT-17, what this package returns): every entity starts
  with ``B-X``, continues with ``I-X``.
- BIOES: ``B-X`` begin, ``I-X`` inside, ``E-X`` end, ``S-X`` single-token
  entity.

The converters are lenient the way conlleval (and seqeval's default mode) is:
an ``I-X`` that cannot continue an entity starts a new one. So converting
IOB1 to IOB2 is also the repair of an IOB2 sequence with stray ``I-`` tags,
and ``iob1_to_iob2`` is idempotent on valid IOB2. :func:`find_scheme_error`
is the strict check, used by the readers to reject malformed files.

>>> iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
>>> iob2_to_bioes(['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC'])
['B-PER', 'E-PER', 'S-PER', 'O', 'S-LOC']
>>> entity_spans(['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC'])
[('PER', 0, 2), ('PER', 2, 3), ('LOC', 4, 5)]
"""

from __future__ import annotations

from collections.abc import Sequence

SCHEMES = ("IOB1", "IOB2", "BIOES")
_PREFIXES = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES"}


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``.

    Raises:
        ValueError: ``tag`` is neither ``O`` nor of the form ``P-TYPE``.
    """
    if tag == "O":
        return "O", ""
    if len(tag) < 3 or tag[1] != "-" or tag[0] not in "BIES":
        raise ValueError(f"expected a tag like 'O', 'B-PER' or 'I-PER', got {tag!r}")
    return tag[0], tag[2:]


def _check_scheme(scheme: str) -> str:
    if scheme not in _PREFIXES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")
    return scheme


def is_valid_tag(tag: str, scheme: str) -> bool:
    """Whether ``tag`` has the form of a tag of ``scheme`` (``O`` or ``P-TYPE``)."""
    prefixes = _PREFIXES[_check_scheme(scheme)]
    return tag == "O" or (len(tag) > 2 and tag[0] in prefixes and tag[1] == "-")


def find_scheme_error(tags: Sequence[str], scheme: str) -> tuple[int, str] | None:
    """The first place where ``tags`` break ``scheme`` strictly, or None.

    Returns ``(index, reason)``; index is the offending tag's position.
    """
    _check_scheme(scheme)
    prev_prefix, prev_type = "", ""  # "" = the sentence start
    for i, tag in enumerate(tags):
        if not is_valid_tag(tag, scheme):
            allowed = "/".join(f"{p}-TYPE" for p in _PREFIXES[scheme])
            return i, f"expected a {scheme} tag (O or {allowed}), got {tag!r}"
        prefix, type_ = split_tag(tag)
        open_same = prev_prefix in ("B", "I") and prev_type == type_
        if scheme == "IOB1" and prefix == "B" and not open_same:
            return i, f"{tag!r} after {_name(prev_prefix, prev_type)}: in IOB1, B- only " \
                      "separates two adjacent entities of the same type"
        if scheme == "IOB2" and prefix == "I" and not open_same:
            return i, f"{tag!r} after {_name(prev_prefix, prev_type)}: in IOB2 an entity " \
                      "starts with B-"
        if scheme == "BIOES":
            if prefix in "IE" and not open_same:
                return i, f"{tag!r} after {_name(prev_prefix, prev_type)}: in BIOES, I- and " \
                          "E- continue an entity of the same type"
            if prefix in "BSO" and prev_prefix in ("B", "I"):
                return i, f"{tag!r} after {_name(prev_prefix, prev_type)}: in BIOES an " \
                          "entity ends with E- (or is a single S-)"
        prev_prefix, prev_type = prefix, type_
    if scheme == "BIOES" and prev_prefix in ("B", "I"):
        return len(tags) - 1, f"sentence ends inside an entity ({tags[-1]!r}); BIOES ends with E-"
    return None


def _name(prefix: str, type_: str) -> str:
    if not prefix:
        return "the sentence start"
    return "'O'" if prefix == "O" else f"'{prefix}-{type_}'"


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (or loose IOB2) to IOB2: an ``I-X`` that starts an entity becomes ``B-X``."""
    out, prev_type = [], None
    for tag in tags:
        prefix, type_ = split_tag(tag)
        if prefix == "O":
            out.append("O")
            prev_type = None
            continue
        if prefix == "I" and prev_type != type_:
            prefix = "B"
        out.append(f"{prefix}-{type_}")
        prev_type = type_
    return out


def iob2_to_bioes(tags: Sequence[str]) -> list[str]:
    """IOB2 to BIOES (stray ``I-`` tags are read as entity starts first)."""
    tags = iob1_to_iob2(tags)
    out = []
    for i, tag in enumerate(tags):
        prefix, type_ = split_tag(tag)
        continues = i + 1 < len(tags) and tags[i + 1] == f"I-{type_}"
        if prefix == "B":
            out.append(f"B-{type_}" if continues else f"S-{type_}")
        elif prefix == "I":
            out.append(f"I-{type_}" if continues else f"E-{type_}")
        else:
            out.append("O")
    return out


def bioes_to_iob2(tags: Sequence[str]) -> list[str]:
    """BIOES to IOB2. An ``I-``/``E-`` that cannot continue an entity starts one."""
    out, open_type = [], None
    for tag in tags:
        prefix, type_ = split_tag(tag)
        if prefix == "O":
            out.append("O")
        elif prefix in "BS" or open_type != type_:
            out.append(f"B-{type_}")
        else:
            out.append(f"I-{type_}")
        open_type = type_ if prefix in "BI" else None
    return out


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Converts ``tags`` from scheme ``source`` to scheme ``target`` (via IOB2)."""
    _check_scheme(source), _check_scheme(target)
    iob2 = bioes_to_iob2(tags) if source == "BIOES" else iob1_to_iob2(tags)
    if target == "IOB2":
        return iob2
    if target == "BIOES":
        return iob2_to_bioes(iob2)
    return iob2_to_iob1(iob2)


def iob2_to_iob1(tags: Sequence[str]) -> list[str]:
    """IOB2 to IOB1: ``B-X`` stays only where it follows an entity of type X."""
    tags = iob1_to_iob2(tags)
    out = []
    for i, tag in enumerate(tags):
        prefix, type_ = split_tag(tag)
        if prefix == "B" and not (i > 0 and split_tag(tags[i - 1])[1] == type_):
            out.append(f"I-{type_}")
        else:
            out.append(tag)
    return out


def entity_spans(tags: Sequence[str], scheme: str = "IOB2") -> list[tuple[str, int, int]]:
    """Entities as ``(type, start, end)`` with ``end`` exclusive, conlleval's reading."""
    iob2 = bioes_to_iob2(tags) if _check_scheme(scheme) == "BIOES" else iob1_to_iob2(tags)
    spans: list[tuple[str, int, int]] = []
    for i, tag in enumerate(iob2):
        prefix, type_ = split_tag(tag)
        if prefix == "B":
            spans.append((type_, i, i + 1))
        elif prefix == "I":
            spans[-1] = (type_, spans[-1][1], i + 1)
    return spans


def is_bioes(labels: Sequence[str]) -> bool:
    """Whether a tag vocabulary is BIOES (it has E- or S- tags)."""
    return any(label[:2] in ("E-", "S-") for label in labels)


def as_iob2(tag: str) -> str:
    """One BIOES tag's IOB2 name (E- -> I-, S- -> B-); exact on valid BIOES sequences."""
    return {"E": "I", "S": "B"}.get(tag[0], tag[0]) + tag[1:] if tag[1:2] == "-" else tag


def output_labels(labels: Sequence[str]) -> list[str]:
    """The tags a model with tag vocabulary ``labels`` outputs and is scored in (IOB2)."""
    return sorted({as_iob2(label) for label in labels}) if is_bioes(labels) else list(labels)
