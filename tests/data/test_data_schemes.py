"""Tag-scheme conversions and span extraction on hand-written edge cases.

The reference for entity spans is seqeval's ``get_entities`` (conlleval's
reading), run on the same sequences.
"""

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from tagger.data.schemes import (
    bioes_to_iob2,
    convert,
    entity_spans,
    find_scheme_error,
    iob1_to_iob2,
    iob2_to_bioes,
    iob2_to_iob1,
    is_valid_tag,
    split_tag,
)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


# (IOB1, IOB2, BIOES) triples of the same entities
CASES = [
    pytest.param([], [], [], id="empty sentence"),
    pytest.param(["O", "O"], ["O", "O"], ["O", "O"], id="no entity"),
    pytest.param(["I-PER"], ["B-PER"], ["S-PER"], id="single token"),
    pytest.param(["I-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "I-PER"],
                 ["B-PER", "I-PER", "E-PER"], id="three tokens"),
    pytest.param(["I-PER", "B-PER"], ["B-PER", "B-PER"], ["S-PER", "S-PER"],
                 id="B- after I- of the same type"),
    pytest.param(["I-PER", "I-PER", "B-PER", "I-PER"], ["B-PER", "I-PER", "B-PER", "I-PER"],
                 ["B-PER", "E-PER", "B-PER", "E-PER"], id="two adjacent multi-token"),
    pytest.param(["I-PER", "I-LOC"], ["B-PER", "B-LOC"], ["S-PER", "S-LOC"],
                 id="type change without B-"),
    pytest.param(["O", "I-ORG", "I-ORG", "O", "I-MISC"], ["O", "B-ORG", "I-ORG", "O", "B-MISC"],
                 ["O", "B-ORG", "E-ORG", "O", "S-MISC"], id="I- after O"),
    pytest.param(["I-LOC", "O", "I-LOC"], ["B-LOC", "O", "B-LOC"], ["S-LOC", "O", "S-LOC"],
                 id="same type split by O"),
]


@pytest.mark.parametrize(("iob1", "iob2", "bioes"), CASES)
def test_conversions(iob1, iob2, bioes):
    assert iob1_to_iob2(iob1) == iob2
    assert iob2_to_bioes(iob2) == bioes
    assert bioes_to_iob2(bioes) == iob2
    assert iob2_to_iob1(iob2) == iob1
    assert iob1_to_iob2(iob2) == iob2  # idempotent on IOB2
    assert convert(iob1, "IOB1", "BIOES") == bioes
    assert convert(bioes, "BIOES", "IOB1") == iob1
    for seq, scheme in ((iob1, "IOB1"), (iob2, "IOB2"), (bioes, "BIOES")):
        assert find_scheme_error(seq, scheme) is None


@pytest.mark.parametrize(("iob1", "iob2", "bioes"), CASES)
def test_spans_agree_with_seqeval(iob1, iob2, bioes):
    expected = [(t, s, e + 1) for t, s, e in get_entities(list(iob2))]
    assert entity_spans(iob2) == expected
    assert entity_spans(iob1, "IOB1") == expected
    assert entity_spans(bioes, "BIOES") == expected


@pytest.mark.parametrize("tags", [
    ["I-PER", "I-LOC", "B-LOC", "O"],
    ["B-PER", "I-LOC", "I-LOC", "O", "I-PER"],  # loose IOB2: I- of another type
    ["O", "I-MISC", "B-MISC", "I-MISC", "I-ORG"],
])
def test_loose_sequences_read_like_conlleval(tags):
    expected = [(t, s, e + 1) for t, s, e in get_entities(iob1_to_iob2(tags))]
    assert entity_spans(tags) == expected
    # the BIOES round trip keeps the entities
    assert entity_spans(iob2_to_bioes(tags), "BIOES") == expected


def test_bioes_i_after_end_starts_a_new_entity():
    assert bioes_to_iob2(["B-PER", "E-PER", "I-PER", "E-PER"]) == ["B-PER", "I-PER", "B-PER",
                                                                    "I-PER"]
    assert bioes_to_iob2(["S-PER", "E-PER"]) == ["B-PER", "B-PER"]


@pytest.mark.parametrize(("tags", "scheme", "index", "words"), [
    (["O", "I-PER"], "IOB2", 1, "after 'O'"),
    (["I-PER"], "IOB2", 0, "after the sentence start"),
    (["B-PER", "I-LOC"], "IOB2", 1, "'I-LOC' after 'B-PER'"),
    (["B-PER"], "IOB1", 0, "B- only separates"),
    (["I-PER", "B-LOC"], "IOB1", 1, "B- only separates"),
    (["B-PER"], "BIOES", 0, "sentence ends inside"),
    (["B-PER", "O"], "BIOES", 1, "ends with E-"),
    (["O", "E-PER"], "BIOES", 1, "continue an entity"),
    (["O", "X-PER"], "IOB2", 1, "expected a IOB2 tag"),
    (["S-PER"], "IOB2", 0, "expected a IOB2 tag"),
    (["B-"], "IOB2", 0, "expected a IOB2 tag"),
])
def test_find_scheme_error(tags, scheme, index, words):
    found = find_scheme_error(tags, scheme)
    assert found is not None and found[0] == index and words in found[1], found


def test_tag_forms():
    assert split_tag("B-creative-work") == ("B", "creative-work")
    assert split_tag("O") == ("O", "")
    for bad in ("", "B", "B-", "BPER", "X-PER", "o"):
        with pytest.raises(ValueError, match="expected a tag"):
            split_tag(bad)
    assert is_valid_tag("E-PER", "BIOES") and not is_valid_tag("E-PER", "IOB2")
    with pytest.raises(ValueError, match="unknown tag scheme"):
        convert(["O"], "IOB3", "IOB2")
