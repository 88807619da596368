"""The model builders: shapes, masks, loss, decoding, save/load, in process."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tagger.config import TrainConfig
from tagger.data.features import CASING_CLASSES, TokenFeatures
from tagger.models import (
    build_sentence_classifier,
    build_sequence_tagger,
    rebuild_sequence_tagger,
)

TAGS = ["B-LOC", "B-PER", "I-PER", "O"]
TOKENS = tf.constant([["Mr", "Anna", "Berg", "in", "Oslo"], ["Oslo", ".", "", "", ""]])
GOLD = np.array([[3, 1, 2, 3, 0], [0, 3, 0, 0, 0]])


def features(distinct=True):
    layer = TokenFeatures(["mr", "anna", "berg", "in", "oslo", "."], list("MrAnaBegiOslo."),
                          lowercase=True, distinct=distinct)
    layer.casing_vocab_size = len(CASING_CLASSES)
    return layer


def config(**kw):
    return TrainConfig(units=8, word_dim=8, char_units=4, char_dim=4, **kw)


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_tagger_learns_a_batch_and_decodes_inside_the_mask(head, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_sequence_tagger(config(head=head, dropout=0.0, word_dropout=0.0),
                                  features(), TAGS, "IOB2")
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(tf.data.Dataset.from_tensors((TOKENS, GOLD)), epochs=60, verbose=0, shuffle=False)
    tags, scores = (np.asarray(t) for t in model.decode(TOKENS))
    np.testing.assert_array_equal(tags[0], GOLD[0])
    np.testing.assert_array_equal(tags[1, :2], GOLD[1, :2])
    assert np.all(tags[1, 2:] == 0) and np.all(scores[1, 2:] == 0)
    assert np.all((scores[0] > 0.5) & (scores[0] <= 1.0 + 1e-6))

    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded.decode(TOKENS)[0]), tags)
    assert (loaded.crf is None) == (head == "softmax")


@pytest.mark.parametrize("char_encoder", ["cnn", "rnn"])
def test_padding_changes_neither_emissions_nor_loss(char_encoder):
    model = build_sequence_tagger(config(dropout=0.0, word_dropout=0.0, layers=2,
                                         char_encoder=char_encoder), features(), TAGS)
    wider = tf.concat([TOKENS, tf.fill((2, 3), "")], axis=1)
    gold_wider = np.concatenate([GOLD, np.full((2, 3), 2)], axis=1)  # junk tags on padding
    emissions, emissions_wider = model(TOKENS), model(wider)
    # Padding must not reach the recurrent layers (the backward direction would see it).
    np.testing.assert_allclose(np.asarray(emissions_wider)[:, :5], emissions, atol=1e-5)
    loss = model.compute_loss(TOKENS, GOLD, emissions)
    loss_wider = model.compute_loss(wider, gold_wider, emissions_wider)
    np.testing.assert_allclose(loss, loss_wider, rtol=1e-5)


@pytest.mark.parametrize("char_encoder", ["cnn", "rnn"])
def test_encoding_distinct_tokens_once_changes_nothing(char_encoder):
    """New models encode each distinct token's characters once; older saved ones per token."""
    cfg = config(char_encoder=char_encoder, dropout=0.0, word_dropout=0.0)
    once = build_sequence_tagger(cfg, features(distinct=True), TAGS)
    per_token = build_sequence_tagger(cfg, features(distinct=False), TAGS)
    for layer in once.layers:  # (the two graphs list their weights in different orders)
        if layer.weights:
            per_token.get_layer(layer.name).set_weights(layer.get_weights())
    gold = tf.constant(GOLD)
    for training in (False, True):
        outputs = []
        for model in (once, per_token):
            with tf.GradientTape() as tape:
                emissions = model(TOKENS, training=training)
                loss = model.compute_loss(TOKENS, gold, emissions)
            keys = [(layer.name, i) for layer in model.layers
                    for i, _ in enumerate(layer.trainable_weights)]
            weights = [w for layer in model.layers for w in layer.trainable_weights]
            grads = tape.gradient(loss, weights)
            outputs.append((emissions, {k: tf.convert_to_tensor(g)
                                        for k, g in zip(keys, grads, strict=True)}))
        (emissions, grads), (expected, expected_grads) = outputs
        np.testing.assert_allclose(emissions, expected, rtol=1e-5, atol=1e-5)
        assert sorted(grads) == sorted(expected_grads)
        for path, grad in grads.items():
            np.testing.assert_allclose(grad, expected_grads[path], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("width", [1, 4, 5])
def test_char_width_sets_the_window_and_inference_matches_training(width, tmp_path):
    """--char-width reaches the CNN; its lookup form (inference) equals the convolution."""
    model = build_sequence_tagger(config(char_width=width, dropout=0.0, word_dropout=0.0),
                                  features(), TAGS)
    emissions = model(TOKENS, training=False)
    assert model.get_layer("char_encoder").encoder.kernel.shape[0] == width
    np.testing.assert_allclose(model(TOKENS, training=True), emissions, rtol=1e-5, atol=1e-5)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("char_encoder").width == width
    np.testing.assert_allclose(loaded(TOKENS), emissions, rtol=1e-5, atol=1e-5)


def test_rebuild_moves_an_older_tagger_into_todays_graph(tmp_path):
    old = build_sequence_tagger(config(), features(distinct=False), TAGS, "IOB2")
    path = tmp_path / "old.keras"
    old.save(path)
    loaded = keras.saving.load_model(path)
    rebuilt = rebuild_sequence_tagger(loaded, config(), TAGS, "IOB2")
    assert rebuilt.get_layer("token_features").distinct
    for got, expected in zip(rebuilt.decode(TOKENS), old.decode(TOKENS), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("char_encoder", ["cnn", "rnn"])
def test_gradients_trace_with_unknown_batch_and_length(char_encoder):
    """A fresh trace with (None, None) tokens (as the gradient-norm logger makes) must build."""
    model = build_sequence_tagger(config(char_encoder=char_encoder), features(), TAGS)
    model(TOKENS)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string)])
    def squared_norm(tokens):
        with tf.GradientTape() as tape:
            emissions = model(tokens, training=True)
            loss = model.compute_loss(tokens, tf.zeros(tf.shape(tokens), "int32"), emissions)
        grads = tape.gradient(loss, model.trainable_variables)
        return tf.add_n([tf.reduce_sum(tf.square(tf.convert_to_tensor(g)))
                         for g in grads if g is not None])

    assert np.isfinite(squared_norm(TOKENS).numpy()) and squared_norm(TOKENS).numpy() > 0


@pytest.mark.parametrize("pooling", ["max", "mean", "attention", "last"])
def test_classifier_outputs_one_row_of_logits_per_sentence(pooling, tmp_path):
    model = build_sentence_classifier(config(pooling=pooling, layers=2), features(),
                                      ["neg", "pos"])
    logits = np.asarray(model(TOKENS))
    assert logits.shape == (2, 2) and np.all(np.isfinite(logits))
    wider = tf.concat([TOKENS, tf.fill((2, 4), "")], axis=1)
    np.testing.assert_allclose(model(wider), logits, atol=1e-5)
    path = tmp_path / "classifier.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(TOKENS), logits, atol=1e-6)


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_auxiliary_task_adds_its_loss_in_training_and_leaves_the_tagger_alone(head, tmp_path):
    aux_tags = ["DT", "IN", "NNP", "."]
    gold_aux = np.array([[2, 2, 2, 1, 2], [2, 3, 0, 0, 0]])
    model = build_sequence_tagger(config(head=head, dropout=0.0, word_dropout=0.0,
                                         auxiliary_weight=0.5),
                                  features(), TAGS, "IOB2", auxiliary_tags=aux_tags)
    tagger = model.without_auxiliary_task()
    shared = {id(w) for w in tagger.weights}
    assert [w.path for w in model.weights if id(w) not in shared] == [
        "auxiliary_logits/kernel", "auxiliary_logits/bias"]  # all else is one network
    emissions, aux_logits = model(TOKENS)
    np.testing.assert_allclose(tagger(TOKENS), emissions, atol=1e-6)
    # the loss: the tagger's own plus 0.5 x the auxiliary cross-entropy, in its units
    mask = np.asarray(TOKENS != "")
    logp = np.asarray(aux_logits, np.float64)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, gold_aux[..., None], -1)[..., 0] * mask
    aux = nll.sum() / (2 if head == "crf" else mask.sum())
    both = np.stack([GOLD, gold_aux], axis=-1)
    expected = float(tagger.compute_loss(TOKENS, GOLD, tagger(TOKENS))) + 0.5 * aux
    assert float(model.compute_loss(TOKENS, both, model(TOKENS))) == pytest.approx(expected,
                                                                                 rel=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(TOKENS, both, epochs=40, verbose=0)
    tags, _ = tagger.decode(TOKENS)
    np.testing.assert_array_equal(np.asarray(tags) * mask, GOLD * mask)
    aux_predicted = np.asarray(model(TOKENS)[1]).argmax(-1)
    np.testing.assert_array_equal(aux_predicted * mask, gold_aux * mask)
    path = tmp_path / "tagger.keras"  # what is saved and exported has no auxiliary layer
    tagger.save(path)
    reloaded = keras.saving.load_model(path)
    assert "auxiliary_logits" not in [layer.name for layer in reloaded.layers]
    np.testing.assert_allclose(reloaded(TOKENS), tagger(TOKENS), atol=1e-5)


def test_language_model_adds_its_loss_in_training_and_leaves_the_tagger_alone(tmp_path):
    aux_tags = ["DT", "IN", "NNP", "."]
    gold_aux = np.array([[2, 2, 2, 1, 2], [2, 3, 0, 0, 0]])
    keras.utils.set_random_seed(0)
    model = build_sequence_tagger(config(dropout=0.0, word_dropout=0.0, layers=2,
                                         language_model=0.3, language_model_vocab=5),
                                  features(), TAGS, "IOB2", auxiliary_tags=aux_tags)
    assert model.output_names[1:] == ["auxiliary_logits", "language_model"]
    tagger = model.without_auxiliary_task()
    shared = {id(w) for w in tagger.weights}
    assert sorted({w.path.split("/")[0] for w in model.weights if id(w) not in shared}) == [
        "auxiliary_logits", "language_model"]  # all else is one network
    objective = model.get_layer("language_model")
    assert objective.vocab_size == 5  # padding, OOV and the 3 most frequent words
    # it reads the first BiRNN layer's states and the words the tagger looks up
    states = keras.Model(model.inputs, model.get_layer("birnn_0").output)(TOKENS)
    word_ids = model.get_layer("token_features")(TOKENS)["words"]
    lm_loss = np.asarray(objective(states, word_ids, TOKENS != ""))
    assert np.all(lm_loss > 0)
    _, _, lm_output = model(TOKENS)
    np.testing.assert_allclose(lm_output, lm_loss, rtol=1e-5)
    # the loss: the tagger's and the auxiliary task's plus 0.3 x the mean per sentence
    both = np.stack([GOLD, gold_aux], axis=-1)
    without_lm = build_sequence_tagger(config(dropout=0.0, word_dropout=0.0, layers=2),
                                       features(), TAGS, "IOB2", auxiliary_tags=aux_tags)
    without_lm.set_weights([w for w in model.weights if not w.path.startswith("language_model")])
    expected = float(without_lm.compute_loss(TOKENS, both, without_lm(TOKENS))) + 0.3 * float(
        lm_loss.mean())
    assert float(model.compute_loss(TOKENS, both, model(TOKENS))) == pytest.approx(expected,
                                                                                 rel=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(TOKENS, both, epochs=40, verbose=0)
    assert float(np.mean(model(TOKENS)[2])) < 0.5 * float(lm_loss.mean())  # it learned words
    tags, _ = tagger.decode(TOKENS)
    mask = np.asarray(TOKENS != "")
    np.testing.assert_array_equal(np.asarray(tags) * mask, GOLD * mask)
    path = tmp_path / "tagger.keras"  # what is saved and exported has no language model
    tagger.save(path)
    reloaded = keras.saving.load_model(path)
    assert "language_model" not in [layer.name for layer in reloaded.layers]
    np.testing.assert_allclose(reloaded(TOKENS), tagger(TOKENS), atol=1e-5)


def test_classifier_of_fine_labels_trains_the_fine_logits_and_answers_the_classes(tmp_path):
    fine_labels = {"HUM:ind": "HUM", "LOC:city": "LOC", "LOC:other": "LOC", "NUM:date": "NUM"}
    model = build_sentence_classifier(config(pooling="last", dropout=0.0, word_dropout=0.0),
                                      features(), ["HUM", "LOC", "NUM"],
                                      fine_labels=fine_labels)
    fitted = model.fine_label_model()
    assert {id(w) for w in fitted.weights} == {id(w) for w in model.weights}  # one network
    fitted.compile(optimizer=keras.optimizers.Adam(0.05),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fitted.fit(TOKENS, np.array([2, 0]), epochs=30, verbose=0)  # LOC:other, HUM:ind
    fine = keras.ops.convert_to_numpy(keras.ops.softmax(fitted(TOKENS)))
    classes = keras.ops.convert_to_numpy(keras.ops.softmax(model(TOKENS)))
    np.testing.assert_allclose(classes, np.stack([fine[:, 0], fine[:, 1] + fine[:, 2],
                                                  fine[:, 3]], axis=1), atol=1e-6)
    assert list(classes.argmax(axis=1)) == [1, 0]  # LOC, HUM: learned from fine labels
    path = tmp_path / "classifier.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(TOKENS), model(TOKENS), atol=1e-6)


@pytest.mark.parametrize("freeze, project, static", [(False, False, False), (True, False, False),
                                                     (True, True, False), (False, False, True),
                                                     (True, False, True)])
@pytest.mark.parametrize("kind", ["tagger", "classifier"])
def test_pretrained_vectors_start_the_embedding_frozen_or_fine_tuned(kind, freeze, project,
                                                                      static, tmp_path):
    layer = features(distinct=True)
    initial = np.random.default_rng(0).normal(size=(layer.word_vocab_size, 8))
    initial = initial.astype("float32")
    cfg = config(freeze_embeddings=freeze, project_embeddings=project, dropout=0.0,
                 word_dropout=0.0, static_embeddings=static)
    if kind == "tagger":
        model = build_sequence_tagger(cfg, layer, TAGS, "IOB2", word_vectors=initial)
        data, loss = (TOKENS, GOLD), None
    else:
        model = build_sentence_classifier(cfg, layer, ["a", "b"], word_vectors=initial)
        data = (TOKENS, np.array([0, 1]))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    embedding = model.get_layer("word_embedding")
    np.testing.assert_array_equal(embedding.get_weights()[0], initial)
    if project:  # starts as the identity: the vectors reach the encoder unchanged
        np.testing.assert_array_equal(model.get_layer("word_projection").get_weights()[0],
                                      np.eye(8, dtype="float32"))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    model.fit(tf.data.Dataset.from_tensors(data), epochs=3, verbose=0, shuffle=False)
    moved = not np.array_equal(embedding.get_weights()[0], initial)
    assert moved == (not freeze)
    layer_names = {layer.name for layer in model.layers}
    # a frozen table needs no frozen copy: the static channel comes with fine-tuning only
    assert ("static_word_embedding" in layer_names) == (static and not freeze)
    if static and not freeze:  # the second channel keeps the vectors as they were
        channel = model.get_layer("static_word_embedding")
        np.testing.assert_array_equal(channel.get_weights()[0], initial)
        assert not channel.trainable_weights
        token_vectors = model.get_layer("token_vectors").output
        assert token_vectors.shape[-1] == 16 + 4 + 8  # [tuned ; static] + chars + casing
    if project:
        assert not np.array_equal(model.get_layer("word_projection").get_weights()[0],
                                  np.eye(8, dtype="float32"))
    path = tmp_path / "model.keras"  # frozen or not, the vectors are saved with the model
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded.get_layer("word_embedding").get_weights()[0],
                                  embedding.get_weights()[0])
    if static and not freeze:
        np.testing.assert_array_equal(
            reloaded.get_layer("static_word_embedding").get_weights()[0], initial)


@pytest.mark.parametrize("kind", ["tagger", "classifier"])
def test_adversarial_step_adds_the_gradients_at_the_perturbed_token_vectors(kind):
    """One ``fit`` step with SGD(1) against an eager reference: the clean gradients
    plus those of the loss at ``v + r``, ``r`` computed in NumPy from ``dL/dv``."""
    keras.utils.set_random_seed(1)
    cfg = config(adversarial=0.3, dropout=0.0, word_dropout=0.0)
    if kind == "tagger":
        model, gold = build_sequence_tagger(cfg, features(), TAGS, "IOB2"), tf.constant(GOLD)
    else:
        model = build_sentence_classifier(cfg, features(), ["HUM", "LOC", "NUM"])
        gold = tf.constant([1, 0])
    model.compile(optimizer=keras.optimizers.SGD(1.0),
                  loss=None if kind == "tagger" else
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(TOKENS)
    weights = model.trainable_weights
    before = [w.numpy() for w in weights]
    layer = model.get_layer("adversarial_perturbation")

    def loss_of(outputs):
        return (model.compute_loss(TOKENS, gold, outputs) if kind == "tagger" else
                tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                    gold, outputs, from_logits=True)))

    probe_model = keras.Model(model.inputs, [layer.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        vectors, outputs = probe_model(TOKENS, training=True)
        clean = loss_of(outputs)
    *clean_grads, vector_grad = tape.gradient(clean, [*weights, vectors])
    mask = np.asarray(TOKENS != "")
    g = np.asarray(vector_grad) * mask[:, :, None]
    norms = np.sqrt((g ** 2).sum(axis=(1, 2), keepdims=True))
    r = 0.3 * np.sqrt(mask.sum(1))[:, None, None] * g / norms
    layer.set_probe({"perturbation": tf.constant(r, "float32")})
    with tf.GradientTape() as tape:
        perturbed = loss_of(model(TOKENS, training=True))
    adversarial_grads = tape.gradient(perturbed, weights)
    layer.set_probe(None)
    assert float(perturbed) > float(clean)  # r points uphill

    model.fit(tf.data.Dataset.from_tensors((TOKENS, gold)), epochs=1, verbose=0, shuffle=False)
    for w, start, a, b in zip(weights, before, clean_grads, adversarial_grads, strict=True):
        step = sum(np.asarray(tf.convert_to_tensor(grad)) for grad in (a, b) if grad is not None)
        np.testing.assert_allclose(w.numpy(), start - step, rtol=1e-4, atol=1e-5,
                                   err_msg=w.path)
    np.testing.assert_array_equal(model(TOKENS), probe_model(TOKENS)[1])  # identity again
