"""MODEL_CARD.md: what an exported model is, its data and their terms, vectors,
scores per type, how well its entity confidences are calibrated, known limits."""

from __future__ import annotations

from pathlib import Path


def model_card(config: dict, metrics: dict) -> str:
    """MODEL_CARD.md: what the model is, its data and terms, vectors, scores, limits."""
    from tagger.data.registry import DATASETS

    dev = metrics.get("dev", {})
    spec = DATASETS.get(metrics.get("dataset"))
    lines = [
        f"# {config.get('name') or 'model'}", "",
        f"- task: {metrics.get('task')} on {metrics.get('dataset')} "
        f"({metrics.get('source')} data){f': {spec.description}' if spec else ''}",
        f"- cell: {config.get('cell')}, {config.get('layers')} bidirectional layer(s) of "
        f"{config.get('units')} units per direction; head: {config.get('head')}; "
        f"char encoder: {config.get('char_encoder')}; tag scheme learned: "
        f"{config.get('tag_scheme', 'IOB2')} (outputs IOB2)",
        f"- trained {metrics.get('epochs_run')} epochs ({metrics.get('train_seconds')} s), "
        f"best dev epoch {metrics.get('best_epoch')}, seed {config.get('seed')}",
        "- dev: " + ", ".join(f"{k} {dev[k]:.4f}" for k in ("f1", "precision", "recall",
                                                           "accuracy", "macro_f1") if k in dev),
    ]
    if "test" in metrics:
        test = metrics["test"]
        lines.append("- test: " + ", ".join(f"{k} {test[k]:.4f}" for k in ("f1", "accuracy")
                                            if k in test))
    per_type = {k: v for k, v in dev.get("per_type", {}).items() if " avg" not in k}
    if per_type:
        lines += ["", "Dev scores per type:", "", "| type | precision | recall | F1 | support |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1-score']:.4f} "
                  f"| {int(s['support'])} |" for name, s in sorted(per_type.items())]
    lines += ["", calibration_note(metrics.get("calibration"))]
    lines += ["", embeddings_note(metrics.get("embeddings"))]
    if metrics.get("lexicon"):
        lines += ["", lexicon_note(metrics["lexicon"])]
    if metrics.get("extra_train"):
        lines += ["", extra_train_note(metrics["extra_train"])]
    if metrics.get("card_note"):  # python -m tagger export --card-note
        lines += ["", metrics["card_note"]]
    if spec and spec.terms:
        lines += ["", f"Training data terms: {spec.terms} The model's outputs and weights are "
                      "derived from this data; use them within these terms."]
    lines += ["", "Trained with `python train.py`; the full configuration is in `config.json`, "
                  "the training history in `metrics.json`.",
              "", "Known limits: scores are on the dev split of the training corpus; text "
                  "from another domain, period or register (and a different tokenization) "
                  "scores lower. The tokenizer splits raw text by rules, so the model sees "
                  "tokens as the training data's tokenization would give them only "
                  "approximately.", ""]
    return "\n".join(lines)


def calibration_note(result: dict | None) -> str:
    """The model card's paragraph on entity confidences and their calibration on dev."""
    if not result:
        return ("Entity confidences: not measured for this model (no span task, or "
                "exported before calibration was measured).")
    from tagger.evaluation.calibration import calibration_table

    scaled = (f"temperature scaling fitted on dev (T = {result['temperature']:.2f}) lowered "
              f"it from {result['ece_uncalibrated']:.4f}" if result["temperature"] != 1.0
              else "temperature scaling did not lower it, so none is applied")
    return (f"Entity confidences: each entity's `confidence` is the model's probability "
            f"that exactly this span has exactly this type. On dev ({result['entities']:,} "
            f"predicted entities, {result['accuracy']:.1%} correct) their expected "
            f"calibration error (10 bins) is {result['ece']:.4f}; {scaled}. Reliability "
            f"diagram: `calibration_dev.png`. The temperature is fitted and the error measured "
            f"on the same dev sentences, so expect a somewhat larger error on other text."
            f"\n\n{calibration_table(result)}")


def embeddings_note(info: dict | None) -> str:
    """The model card's paragraph on word vectors and their coverage."""
    if not info or info.get("source") == "none":
        return "Word embeddings learned from scratch (no pretrained vectors)."
    cover = ", ".join(f"{split} {c['token_coverage']:.1%} of tokens "
                      f"({c['word_coverage']:.1%} of distinct words)"
                      for split, c in info.get("coverage", {}).items())
    how = "frozen" if info.get("frozen") else "fine-tuned"
    if info.get("projection"):
        how += ", through a trainable projection"
    if info.get("static"):
        how += ", with a frozen copy beside them (two channels)"
    return (f"Word vectors: {info.get('description', info['source'])}; {info['dim']}-d, "
            f"{how}. Vocabulary {info['vocabulary']:,} words ({info['training_words']:,} "
            f"from training, the rest the most frequent words of the vectors), "
            f"{info['with_vector']:,} with a vector. Coverage: {cover}. The vectors travel "
            "inside this SavedModel; serving needs neither the wheel nor the file.")


def extra_train_note(info: dict) -> str:
    """The model card's sentence on ``--extra-train`` files added to the training split."""
    def describe(path: str, given: dict) -> str:
        facts = [f"{given['sentences']:,} sentences", f"{given['tokens']:,} tokens"]
        if "sha256" in given:  # absent from reports written before digests were recorded
            facts.append(f"SHA-256 {given['sha256']}")
        return f"`{Path(path).name}` ({', '.join(facts)})"

    files = ", ".join(describe(path, given) for path, given in info.items())
    return (f"Extra training data beside the release's training split: {files}. Their "
            "provenance and terms are those of the corpora they were made from.")


def lexicon_note(info: dict) -> str:
    """The model card's paragraph on the ``--lexicon`` table: sources, coverage, terms."""
    from tagger.data.lexicon import dataset_source
    from tagger.data.registry import DATASETS

    sources = ", ".join(f"{source} ({given['tokens']:,} tokens)"
                        for source, given in info["sources"].items())
    cover = ", ".join(f"{split} {share:.1%}" for split, share in info["token_coverage"].items())
    named = [(source, DATASETS[dataset[0]]) for source in info["sources"]
             if (dataset := dataset_source(source))]
    terms = [f"{source}: {spec.terms}" for source, spec in named if spec.terms]
    return (f"Tag lexicon: each word's share of {len(info['tags'])} tags in {sources}; "
            f"{info['words']:,} words, {info['vocabulary_rows']:,} of them in the model's "
            f"vocabulary. Tokens whose word has a row: {cover}. The table travels inside "
            "this SavedModel as a frozen weight." +
            (" Its data's terms: " + " ".join(terms) if terms else ""))
