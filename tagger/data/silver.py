"""Silver training data: a corpus annotated in one tag set, relabelled in another.

CoNLL-2000's 8k sentences of WSJ text carry gold Penn Treebank tags; a UPOS
tagger could learn from them if they were in UPOS. The Penn tag settles most
of the choice (NN is NOUN) but not all of it (VBZ is AUX or VERB, IN is ADP
or SCONJ, DT is DET or PRON), and a fixed mapping gets 2.3 % of EWT's dev
tokens wrong. So the tag of token ``t`` is chosen by taggers of the target
tag set, among the target tags its gold source tag allows:

    y_t = argmax_{k ∈ A(s_t, w_t)} Σ_m p_m(k | t)      (the models' summed marginals)

where ``A(s, w)`` is learned from a corpus annotated in both tag sets (EWT's
XPOS and UPOS columns): the target tags that word ``w`` took with source tag
``s`` there, or, for a word it never saw with ``s``, the tags holding at
least ``min_share`` of the occurrences of ``s``. A source tag that corpus
lacks leaves the choice to the models. On EWT's own dev split, a UPOS
tagger that is right on 96.56 % of tokens alone is right on 99.27 % when
constrained by the gold XPOS this way (tag level only).

Two conventions differ between WSJ's Penn Treebank and EWT's, and are
bridged here: WSJ escapes brackets (``-LRB-``) and writes LaTeX quotes, which
are written as the characters they stand for (:data:`PTB_FORMS`); and WSJ
tags every "to" TO, where EWT tags the preposition IN, so TO allows the
target tags of both (:data:`SOURCE_TAG_ALIASES`, which also maps WSJ's
bracket and pound tags to EWT's names).

Without pairs (``--pairs none``) every token gets the models' own choice,
``y_t = argmax_k Σ_m p_m(k | t)``: pseudo-labels in the target corpus's own
conventions, with the models' errors instead of the source's conventions.

Span taggers (NER, chunking: BIOES or IOB2 tags) are decoded per sentence, not
per token: a token-wise argmax of summed marginals can end an entity that never
began (``O E-PER``) or split one. The sentence gets the best well-formed tag
sequence under the models' mean marginals ``p̄_t = (1/M) Σ_m p_m(· | t)``,

    y = argmax_{y well-formed} Σ_t log p̄_t(y_t)

(a Viterbi pass over the scheme's allowed transitions,
:func:`tagger.layers.tag_constraints.allowed_transitions`), and is written in
the columns of the models' own dataset (CoNLL-2003's four, IOB1), so
``train.py --extra-train`` reads it as it reads the release.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tagger.data.schemes import bioes_to_iob2, iob1_to_iob2, iob2_to_iob1, is_bioes

# WSJ token -> the character it stands for (as UD corpora write it)
PTB_FORMS = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}
# source tag -> the tags of the paired corpus whose target tags it allows
SOURCE_TAG_ALIASES = {"(": ("-LRB-",), ")": ("-RRB-",), "#": ("$",), "TO": ("TO", "IN")}


@dataclass
class TagPairs:
    """What target tags each source tag (and each source tag with a word) took in a
    corpus annotated in both tag sets.

    Attributes:
        by_tag: ``{source tag: Counter(target tag -> n)}``.
        by_word: ``{(source tag, lowercased word): Counter(target tag -> n)}``.
        min_share: a source tag allows the target tags holding at least this share of
            its occurrences (for words the pairs never saw with it).
    """

    by_tag: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_word: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    min_share: float = 0.005

    @classmethod
    def count(cls, source: Iterable, target: Iterable, min_share: float = 0.005) -> TagPairs:
        """From the same sentences tagged twice (``TaggedSentence`` lists, in order)."""
        pairs = cls(min_share=min_share)
        for one, other in zip(source, target, strict=True):
            if one.tokens != other.tokens:
                raise ValueError("the two annotations of the paired corpus are not of the "
                                 f"same sentence: {' '.join(one.tokens[:8])!r} ...")
            for word, source_tag, target_tag in zip(one.tokens, one.tags, other.tags, strict=True):
                pairs.by_tag[source_tag][target_tag] += 1
                pairs.by_word[source_tag, word.lower()][target_tag] += 1
        return pairs

    def allowed(self, source_tag: str, word: str) -> set[str] | None:
        """``A(source_tag, word)``; None where the pairs know nothing of the tag."""
        keys = SOURCE_TAG_ALIASES.get(source_tag, (source_tag,))
        seen = Counter()
        for key in keys:
            seen.update(self.by_word.get((key, word.lower()), Counter()))
        if not seen:
            for key in keys:
                seen.update(self.by_tag.get(key, Counter()))
        if not seen:
            return None
        total = sum(seen.values())
        return {tag for tag, n in seen.items() if n >= self.min_share * total}


@dataclass
class Relabelled:
    """One sentence's target tags and how they were chosen."""

    tokens: tuple[str, ...]
    source_tags: tuple[str, ...]
    tags: tuple[str, ...]
    changed: int  # tokens where the constraint overruled the models' own argmax
    unconstrained: int  # tokens whose source tag the pairs did not know


def relabel(tokens: Sequence[str], source_tags: Sequence[str], marginals: np.ndarray,
            classes: Sequence[str], pairs: TagPairs | None) -> Relabelled:
    """The constrained argmax of ``marginals`` (``[len(tokens), len(classes)]``, summed or
    averaged over models) at each token; ``pairs=None``: the plain argmax everywhere."""
    tags, changed, unconstrained = [], 0, 0
    for word, source_tag, scores in zip(tokens, source_tags, marginals, strict=True):
        allowed = None if pairs is None else pairs.allowed(source_tag, word)
        mask = (np.array([c in allowed for c in classes]) if allowed is not None
                else np.zeros(len(classes), bool))
        if not mask.any():  # unknown tag, or none of its tags is the models'
            unconstrained += 1
            mask = np.ones(len(classes), bool)
        best = int(np.argmax(np.where(mask, scores, -np.inf)))
        changed += best != int(np.argmax(scores))
        tags.append(classes[best])
    return Relabelled(tuple(tokens), tuple(source_tags), tuple(tags), changed, unconstrained)


def unescape(tokens: Sequence[str]) -> tuple[str, ...]:
    """Penn Treebank escapes (``-LRB-``, ``` `` ```) as the characters they stand for."""
    return tuple(PTB_FORMS.get(token, token) for token in tokens)


def conllu_lines(sentences: Iterable[Relabelled], name: str,
                 numbers: Iterable[int] | None = None) -> Iterable[str]:
    """CoNLL-U (FORM, UPOS, and the source tag as XPOS; the other columns ``_``), one
    ``# sent_id = NAME-N`` and ``# text`` per sentence (N: ``numbers``, else 1, 2, ...)."""
    sentences = list(sentences)
    numbers = range(1, len(sentences) + 1) if numbers is None else numbers
    for number, sentence in zip(numbers, sentences, strict=True):
        yield f"# sent_id = {name}-{number}"
        yield f"# text = {' '.join(sentence.tokens)}"
        for i, (form, tag, source) in enumerate(
                zip(sentence.tokens, sentence.tags, sentence.source_tags, strict=True), start=1):
            yield f"{i}\t{form}\t_\t{tag}\t{source}\t_\t_\t_\t_\t_"
        yield ""


def span_scheme(classes: Sequence[str]) -> str | None:
    """``"BIOES"`` or ``"IOB2"`` for a span tagger's own tags (``O`` and ``P-TYPE`` only),
    None for other tag sets (UPOS)."""
    spans = [c for c in classes if c != "O"]
    if "O" not in classes or not spans or not all(c[1:2] == "-" and c[0] in "BIES"
                                                  for c in spans):
        return None
    return "BIOES" if is_bioes(classes) else "IOB2"


def relabel_spans(tokens: Sequence[str], source_tags: Sequence[str], marginals: np.ndarray,
                  classes: Sequence[str], scheme: str) -> Relabelled:
    """The best well-formed tag sequence (module docstring) under ``marginals``
    (``[len(tokens), len(classes)]``, summed or averaged over models: only ratios within a
    token matter), in IOB2. ``changed`` counts the tokens where it differs from the
    token-wise argmax."""
    from tagger.layers.tag_constraints import allowed_transitions

    # NumPy, not the CRF's viterbi_decode: called eagerly per sentence, that took 6 min
    # for 3,000 sentences against 20 s for the whole command this way
    allowed, start, end = allowed_transitions(list(classes), scheme)
    scores = np.asarray(marginals, dtype=np.float64)
    scores = np.log(np.maximum(scores / scores.sum(axis=1, keepdims=True), 1e-30))
    forbidden = -1e30
    transitions = np.where(allowed, 0.0, forbidden)
    best = np.where(start, 0.0, forbidden) + scores[0]
    back = []
    for step in scores[1:]:
        candidates = best[:, None] + transitions  # [from, to]
        back.append(candidates.argmax(axis=0))
        best = candidates.max(axis=0) + step
    path = [int(np.argmax(best + np.where(end, 0.0, forbidden)))]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    path.reverse()
    tags = [classes[i] for i in path]
    changed = sum(i != j for i, j in zip(path, np.argmax(scores, axis=1), strict=True))
    iob2 = bioes_to_iob2(tags) if scheme == "BIOES" else iob1_to_iob2(tags)
    return Relabelled(tuple(tokens), tuple(source_tags), tuple(iob2), int(changed), 0)


def conll_lines(sentences: Sequence[Relabelled], layout, column_tasks: dict[str, str],
                target_column: str, columns: dict[str, Sequence[Sequence[str]]]
                ) -> Iterable[str]:
    """CoNLL columns in ``layout`` (:func:`tagger.data.release.conll_columns`): the tokens,
    the relabelled tags (IOB2) in ``target_column``, and each other tag column from
    ``columns`` (``{column: one tag sequence per sentence}``, the source corpus's own gold
    tags of that column's task); tags go out in each column's scheme (IOB1 where the
    layout has it), a blank line after each sentence."""
    for index, sentence in enumerate(sentences):
        values = {"tokens": sentence.tokens, target_column: sentence.tags}
        values.update({name: tuple(tags[index]) for name, tags in columns.items()})
        for name in layout.names:
            if len(values[name]) != len(sentence.tokens):
                raise ValueError(f"sentence {index + 1}: the {column_tasks.get(name, name)} "
                                 "tags do not match its tokens")
            if layout.schemes.get(name) == "IOB1":
                values[name] = tuple(iob2_to_iob1(values[name]))
        for row in zip(*(values[name] for name in layout.names), strict=True):
            yield layout.separator.join(row)
        yield ""
