"""Output formats of file tagging: one writer, three layouts.

conll  (taggers) one ``token<TAB>tag`` line per token and a blank line after
       each sentence; an empty input line (lines/tokens input) gives one blank
       line. For CoNLL input each original line is echoed with the predicted tag
       appended as a new last column, so input and output line counts match.
tsv    one row per record. Taggers: ``tokens<TAB>tags<TAB>scores`` (each
       space-separated); classifiers: ``label<TAB>probability<TAB>text``.
       An empty input line gives an empty row.
jsonl  one JSON object per record: ``line`` (1-based input line where the
       record starts), ``column`` (character where it starts in that line),
       ``text``; taggers add ``tokens``, ``tags``, ``scores``, ``offsets``
       ([start, end] character offsets into ``text``, null for a token the
       model normalised) and ``entities`` (BIO/BIOES spans, not for POS);
       classifiers add ``label`` and ``probabilities``. ``part`` appears on the
       second and later parts of an over-long line; ``file`` when several input
       files share one output.

Classifiers have no token columns: ``conll`` output falls back to ``tsv``.
CoNLL blank lines and ``-DOCSTART-`` lines are separators: only ``conll`` output
writes them back.
"""

from __future__ import annotations

import json
from typing import TextIO

from tagger.serving.inputs import Unit
from tagger.serving.text import align_tokens, entity_spans, looks_bio, safe_field, safe_text

OUTPUT_FORMATS = ("conll", "tsv", "jsonl")
EXTENSIONS = {"conll": ".conll", "tsv": ".tsv", "jsonl": ".jsonl"}


def default_output_format(model) -> str:
    return "conll" if model.is_tagger else "tsv"


def _entities(text: str, tokens: list[str], tags: list[str], offsets: list) -> list[dict]:
    out = []
    for kind, first, end in entity_spans(tags):
        start_span, end_span = offsets[first], offsets[end - 1]
        start = start_span[0] if start_span else None
        stop = end_span[1] if end_span else None
        surface = text[start:stop] if start is not None and stop is not None else " ".join(
            tokens[first:end])
        out.append({"type": kind, "text": surface, "start": start, "end": stop,
                    "token_start": first, "token_end": end})
    return out


def _joined_fields(values: list[str], empty: str) -> str:
    """``" ".join(safe_field(v, empty) for v in values)``, checked once for the usual case."""
    joined = " ".join(values)
    if joined.isprintable() and joined.count(" ") == len(values) - 1 and "" not in values:
        return joined  # no value is empty or holds a space or a control character
    return " ".join(safe_field(v, empty) for v in values)


class RecordWriter:
    """Writes tagged records (``Unit``s with ``result`` filled) to a text stream."""

    def __init__(self, sink: TextIO, output_format: str, model, file_label: str | None = None):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {output_format!r}; "
                             f"expected one of {OUTPUT_FORMATS}")
        self.sink = sink
        self.is_tagger = model.is_tagger
        self.format = output_format if self.is_tagger or output_format != "conll" else "tsv"
        self.spans = model.task != "pos"
        self.file_label = file_label

    def write(self, unit: Unit) -> None:
        if unit.kind in ("separator", "docstart") and self.format != "conll":
            return
        getattr(self, f"_{self.format}")(unit)

    # -- layouts ----------------------------------------------------------------
    def _conll(self, unit: Unit) -> None:
        if unit.kind in ("separator", "empty"):
            self.sink.write("\n")
            return
        tags = unit.result["tags"]
        if unit.source is not None:  # CoNLL input: echo each line, tag appended
            lines = []
            for line, tag in zip(unit.source, tags, strict=True):
                sep = "\t" if "\t" in line else " "
                lines.append(f"{line.rstrip()}{sep}{safe_field(tag, 'O')}\n")
            self.sink.write("".join(lines))
            return
        rows = [f"{safe_field(tok)}\t{safe_field(tag, 'O')}\n"
                for tok, tag in zip(unit.result["tokens"], tags, strict=True)]
        self.sink.write("".join(rows) + "\n")

    def _tsv(self, unit: Unit) -> None:
        if unit.kind == "empty":
            self.sink.write("\n")
        elif self.is_tagger:
            r = unit.result
            self.sink.write("\t".join([
                _joined_fields(r["tokens"], "_"), _joined_fields(r["tags"], "O"),
                " ".join(map("{:.4f}".format, r["scores"]))]) + "\n")
        else:
            label = unit.result.get("label")
            probability = unit.result["probabilities"].get(label, 0.0) if label else 0.0
            self.sink.write(f"{safe_field(label or '')}\t{probability:.4f}\t"
                            f"{safe_text(unit.text)}\n")

    def _jsonl(self, unit: Unit) -> None:
        record: dict = {"line": unit.line, "column": unit.column, "text": unit.text}
        if unit.part:
            record["part"] = unit.part
        if self.file_label is not None:
            record["file"] = self.file_label
        r = unit.result
        if self.is_tagger:
            tokens, tags = r.get("tokens", []), r.get("tags", [])
            offsets = align_tokens(unit.text, tokens)
            record.update(tokens=tokens, tags=tags,
                          scores=[round(s, 4) for s in r.get("scores", [])],
                          offsets=[list(span) if span else None for span in offsets])
            if self.spans and looks_bio(tags):
                record["entities"] = _entities(unit.text, tokens, tags, offsets)
            elif self.spans:
                record["entities"] = []
        else:
            record["label"] = r.get("label")
            record["probabilities"] = {k: round(v, 4) for k, v in
                                       r.get("probabilities", {}).items()}
        self.sink.write(json.dumps(record, ensure_ascii=False) + "\n")
