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
       files share one output. Each entity has ``type``, ``text``, ``start``,
       ``end`` (characters), ``confidence``, ``token_start``, ``token_end``.
entities  (taggers) one JSON object per entity: ``record`` (1-based record
       number, counting every record a JSONL output would have), ``line``,
       ``text``, ``type``, ``start``, ``end``, ``confidence``.
pretty for people: each sentence with its entities marked ``[text](TYPE)``
       and one ``text<TAB>type<TAB>confidence`` line per entity (POS:
       ``word/TAG``); classifiers ``label<TAB>probability<TAB>text``.

Classifiers have no token columns: ``conll`` output falls back to ``tsv``.
CoNLL blank lines and ``-DOCSTART-`` lines are separators: only ``conll`` output
writes them back.
"""

from __future__ import annotations

from typing import TextIO

from tagger.files import json_line
from tagger.serving.inputs import Unit
from tagger.serving.results import Doc, make_result
from tagger.serving.text import safe_field, safe_text

OUTPUT_FORMATS = ("conll", "tsv", "jsonl", "entities", "pretty")
EXTENSIONS = {"conll": ".conll", "tsv": ".tsv", "jsonl": ".jsonl", "entities": ".jsonl",
              "pretty": ".txt"}


def default_output_format(model) -> str:
    return "conll" if model.is_tagger else "tsv"


def marked_text(doc: Doc) -> str:
    """The text with each entity written ``[surface](TYPE)``."""
    pieces, pos = [], 0
    for entity in doc.entities:
        if entity.start is None or entity.end is None or entity.start < pos:
            continue
        pieces += [doc.text[pos:entity.start], f"[{doc.text[entity.start:entity.end]}]"
                   f"({entity.type})"]
        pos = entity.end
    return "".join(pieces) + doc.text[pos:]


def pretty(result) -> str:
    """Readable lines for one record (see the module docstring)."""
    if not isinstance(result, Doc):
        return f"{result.label or '-'}\t{result.probability:.4f}\t{safe_text(result.text)}\n"
    if not result.spans:
        return " ".join(f"{w}/{t}" for w, t in zip(result.words, result.tags, strict=True)) + "\n"
    lines = [safe_text(marked_text(result))]
    for entity in result.entities:
        confidence = "-" if entity.confidence is None else f"{entity.confidence:.4f}"
        lines.append(f"  {safe_text(entity.text)}\t{entity.type}\t{confidence}")
    return "\n".join(lines) + "\n"


def _joined_fields(values: list[str], empty: str) -> str:
    """``" ".join(safe_field(v, empty) for v in values)``, checked once for the usual case."""
    joined = " ".join(values)
    if joined.isprintable() and joined.count(" ") == len(values) - 1 and "" not in values:
        return joined  # no value is empty or holds a space or a control character
    return " ".join(safe_field(v, empty) for v in values)


def jsonl_record(unit: Unit, is_tagger: bool, spans: bool, file_label: str | None = None
                 ) -> dict:
    """The JSONL record of a tagged unit: where it starts, then ``make_result(...).to_dict()``."""
    record: dict = {"line": unit.line, "column": unit.column}
    if unit.part:
        record["part"] = unit.part
    if file_label is not None:
        record["file"] = file_label
    record.update(make_result(unit.text, unit.result, is_tagger, spans).to_dict())
    return record


class RecordWriter:
    """Writes tagged records (``Unit``s with ``result`` filled) to a text stream."""

    def __init__(self, sink: TextIO, output_format: str, model, file_label: str | None = None):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {output_format!r}; "
                             f"expected one of {OUTPUT_FORMATS}")
        self.sink = sink
        self.is_tagger = model.is_tagger
        if not self.is_tagger and output_format == "entities":
            raise ValueError("--output-format entities needs a tagger; this is a classifier")
        self.format = output_format if self.is_tagger or output_format != "conll" else "tsv"
        self.spans = model.spans
        self.file_label = file_label
        self.records = 0  # records written so far (what the entities format numbers)

    def write(self, unit: Unit) -> None:
        if unit.kind in ("separator", "docstart") and self.format != "conll":
            return
        self.records += 1
        getattr(self, f"_{self.format}")(unit)

    def _result(self, unit: Unit):
        return make_result(unit.text, unit.result, self.is_tagger, self.spans)

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
        record = jsonl_record(unit, self.is_tagger, self.spans, self.file_label)
        self.sink.write(json_line(record) + "\n")

    def _entities(self, unit: Unit) -> None:
        if unit.kind != "tag":
            return
        head = {"record": self.records, "line": unit.line}
        if self.file_label is not None:
            head["file"] = self.file_label
        rows = [json_line({**head, "text": e.text, "type": e.type, "start": e.start,
                           "end": e.end, "confidence": e.confidence})
                for e in self._result(unit).entities]
        self.sink.write("".join(row + "\n" for row in rows))

    def _pretty(self, unit: Unit) -> None:
        if unit.kind == "empty":
            self.sink.write("\n")
            return
        if self.file_label is not None and self.records == 1:
            self.sink.write(f"== {self.file_label}\n")
        self.sink.write(pretty(self._result(unit)))
