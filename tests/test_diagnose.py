import random

import keras
import numpy as np
import pytest
from keras import layers

from cnncourse.diagnose import MONITOR_CODES, Monitor, diagnose


def classifier(activation="relu", initializer="he_normal", n_conv=1, head=layers.GlobalAveragePooling2D):
    inputs = keras.Input(shape=(16, 16, 3))
    h = layers.Rescaling(1 / 255)(inputs)
    for _ in range(n_conv):
        h = layers.Conv2D(8, 3, padding="same", activation=activation, kernel_initializer=initializer)(h)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(head()(h)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def colours(colour_images):
    """Images whose class is their colour."""
    return colour_images(600, size=16)


def watched(model, monitor):
    monitor.set_model(model)
    monitor.on_train_begin()
    return monitor


def test_every_code_names_a_lesson():
    assert all("lesson" in lesson for lesson in MONITOR_CODES.values())


def test_a_nonfinite_loss_is_reported_once():
    monitor = watched(classifier(), Monitor(verbose=False))
    for epoch in range(3):
        monitor.on_epoch_end(epoch, {"loss": float("nan"), "accuracy": 0.1})
    assert monitor.codes == ["nonfinite_loss"] and "lesson 04" in str(monitor.findings[0])


@pytest.mark.parametrize("bias, expected", [(0, []), (30, ["initial_loss"])])
def test_the_loss_before_training_is_compared_with_ln_k(bias, expected, colours):
    x, y = colours
    keras.utils.set_random_seed(0)
    model = classifier()
    model.layers[-1].bias.assign(np.eye(10, dtype="float32")[y[0]] * bias)  # huge, confident outputs
    monitor = watched(model, Monitor(x[:100], y[:100], verbose=False))
    assert monitor.codes == expected
    if expected:
        assert "ln 10 = 2.30" in monitor.findings[0].message


def test_accuracy_at_chance_for_several_epochs_is_reported():
    monitor = watched(classifier(), Monitor(verbose=False, chance_epochs=2))
    monitor.on_epoch_end(0, {"loss": 2.3, "accuracy": 0.10})
    assert monitor.codes == []
    monitor.on_epoch_end(1, {"loss": 2.3, "accuracy": 0.095})
    assert monitor.codes == ["at_chance"]


def test_rising_validation_loss_while_training_loss_falls_is_overfitting():
    monitor = watched(classifier(), Monitor(verbose=False, rising_epochs=2))
    for epoch, (loss, val) in enumerate([(1.5, 1.6), (1.2, 1.5), (1.0, 1.55), (0.8, 1.7)]):
        monitor.on_epoch_end(epoch, {"loss": loss, "val_loss": val, "accuracy": 0.5})
    assert monitor.codes == ["overfitting"]
    both_fall = watched(classifier(), Monitor(verbose=False))
    for epoch, (loss, val) in enumerate([(1.5, 1.6), (1.2, 1.5), (1.0, 1.4)]):
        both_fall.on_epoch_end(epoch, {"loss": loss, "val_loss": val, "accuracy": 0.5})
    assert both_fall.codes == []


def test_one_predicted_class_is_reported(colours):
    x, _ = colours
    model = classifier()
    dense = model.layers[-1]
    dense.bias.assign(np.eye(10, dtype="float32")[3] * 100)  # always class 3
    monitor = watched(model, Monitor(x_probe=x[:100], verbose=False))
    monitor.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.3})
    assert monitor.codes == ["one_class"] and "class 3 for 100 of 100" in monitor.findings[0].message


def test_a_deep_sigmoid_stack_is_reported_stuck_with_vanishing_gradients_and_a_healthy_run_is_not(colours, capsys):
    x, y = colours
    keras.utils.set_random_seed(0)
    monitor = Monitor(x_probe=x[:128], y_probe=y[:128])
    classifier("sigmoid", "glorot_uniform", n_conv=12).fit(x, y, epochs=2, batch_size=32, verbose=0,
                                                           callbacks=[monitor])
    assert "vanishing_gradients" in monitor.codes and "at_chance" in monitor.codes
    assert "lesson 08" in capsys.readouterr().out
    keras.utils.set_random_seed(0)
    healthy = Monitor(x_probe=x[:128], y_probe=y[:128])
    classifier(head=layers.Flatten).fit(x, y, validation_data=(x[:100], y[:100]), epochs=3, batch_size=32, verbose=0,
                                        callbacks=[healthy])
    assert healthy.codes == []


def test_monitor_refuses_bad_arguments(colours):
    x, y = colours
    with pytest.raises(ValueError, match="y_probe needs x_probe"):
        Monitor(y_probe=y)
    with pytest.raises(ValueError):
        Monitor(x_probe=x, y_probe=y[:5])
    with pytest.raises(ValueError, match="at least 1"):
        Monitor(chance_epochs=0)


def compiled(model, loss="sparse_categorical_crossentropy"):
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def small_cnn(scale=True, activation="softmax", n_conv=1, conv_activation="relu", initializer="he_normal"):
    inputs = keras.Input(shape=(16, 16, 3))
    h = layers.Rescaling(1 / 255)(inputs) if scale else inputs
    for _ in range(n_conv):
        h = layers.Conv2D(8, 3, padding="same", activation=conv_activation, kernel_initializer=initializer)(h)
    return keras.Model(inputs, layers.Dense(10, activation=activation)(layers.Flatten()(h)))


@pytest.fixture(scope="module")
def pipeline(colour_images):
    """3,000 training and 400 validation images whose class is their colour: learnable in seconds."""
    x, y = colour_images(3400, size=16, noise=30, seed=1)
    return x[:3000], y[:3000], x[3000:], y[3000:]


def test_a_healthy_pipeline_has_no_findings_and_nothing_changes(pipeline):
    x, y, x_val, y_val = pipeline
    model = compiled(small_cnn())
    weights = [w.copy() for w in model.get_weights()]
    x_before = x.copy()
    report = diagnose(model, x, y, validation_data=(x_val, y_val), progress=False)
    assert report.codes == [] and "No problem found" in str(report) and "No problem" in report._repr_html_()
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights())) and np.array_equal(x, x_before)


SOFTMAX_TWICE_CODE = [] if keras.backend.backend() == "tensorflow" else ["loss_output_mismatch"]


@pytest.mark.parametrize("model, labels, code", [
    (lambda: compiled(small_cnn(scale=False)), "int", "unscaled_inputs"),
    (lambda: compiled(small_cnn(activation=None)), "int", "loss_output_mismatch"),
    (lambda: compiled(small_cnn(activation="relu")), "int", "loss_output_mismatch"),
    (lambda: compiled(small_cnn(), "categorical_crossentropy"), "int", "loss_output_mismatch"),
    (lambda: compiled(small_cnn(), "mse"), "int", "loss_output_mismatch"),
    (lambda: compiled(small_cnn(), "binary_crossentropy"), "int", "loss_output_mismatch"),
    (lambda: compiled(small_cnn(), "sparse_categorical_crossentropy"), "one-hot", "labels_not_class_indices"),
    (lambda: compiled(small_cnn(), "sparse_categorical_crossentropy"), "divided by 255", "labels_not_class_indices"),
    (lambda: compiled(small_cnn(n_conv=12, conv_activation="sigmoid", initializer="glorot_uniform")), "int",
     "vanishing_gradients"),
], ids=["no-rescaling", "logits-without-from-logits", "relu-output", "categorical-on-indices", "mse-on-indices",
        "binary-on-ten-classes", "sparse-on-one-hot", "labels-scaled", "deep-sigmoid"])
def test_each_planted_failure_is_the_top_finding(model, labels, code, pipeline):
    x, y, x_val, y_val = pipeline
    y = {"one-hot": keras.utils.to_categorical(y, 10), "divided by 255": y / 255}.get(labels, y)
    keras.utils.set_random_seed(0)
    report = diagnose(model(), x, y, progress=False)
    assert report.codes[:1] == [code], report
    assert report.findings[0].lesson.startswith("lesson") and report.findings[0].evidence


def test_softmax_read_as_logits_blocks_only_where_keras_does_not_repair_it(pipeline):
    """On TensorFlow Keras notices a softmax output under from_logits=True and uses its logits (lesson 06):
    a note, not a cause; on the other backends the softmax is applied twice and nothing is learned."""
    x, y, _, _ = pipeline
    model = compiled(small_cnn(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    report = diagnose(model, x[:1500], y[:1500], progress=False)
    assert report.codes[:1] == SOFTMAX_TWICE_CODE, report
    if not SOFTMAX_TWICE_CODE:
        assert any("from_logits=True" in note for note in report.notes) and "a short run" in report.probed


def test_a_one_unit_softmax_on_two_classes_is_a_loss_output_mismatch_not_a_crash(pipeline):
    x, y, _, _ = pipeline
    two = y < 2
    model = compiled(small_cnn(), "binary_crossentropy")
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Rescaling(1 / 255), layers.Conv2D(4, 3),
                              layers.Flatten(), layers.Dense(1, activation="softmax")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert diagnose(model, x[two], y[two], progress=False).codes[:1] == ["loss_output_mismatch"]


def test_label_findings_imbalance_validation_mismatch_and_little_data(pipeline):
    x, y, x_val, y_val = pipeline
    model = compiled(small_cnn())
    last = np.argsort(y_val, kind="stable")[-200:]  # the last classes only, as validation_split of sorted data gives
    assert diagnose(model, x, y, validation_data=(x_val[last], y_val[last]), progress=False).codes == [
        "validation_mismatch"]
    keep = (y != 9) | (np.arange(len(y)) % 10 == 9)  # class 9 has far fewer images
    keep &= (y != 9) | (np.cumsum(y == 9) <= 20)
    imbalanced = diagnose(model, x[keep], y[keep], validation_data=(x_val, y_val), progress=False).codes
    assert "class_imbalance" in imbalanced and "validation_mismatch" not in imbalanced  # a balanced validation set
    weighted = diagnose(model, x[keep], y[keep], class_weight={9: 10.0}, progress=False)
    assert "class_imbalance" not in weighted.codes and any("class_weight" in note for note in weighted.notes)
    assert diagnose(model, x[:500], y[:500], progress=False).codes == ["too_little_data"]


def test_validation_inputs_on_another_scale_are_a_preprocessing_mismatch(pipeline):
    x, y, x_val, y_val = pipeline
    model = compiled(small_cnn())
    scaled_twice = (x_val.astype("float32") / 255, y_val)
    assert diagnose(model, x, y, validation_data=scaled_twice, progress=False).codes[:1] == ["preprocessing_mismatch"]


def test_pixels_scaled_twice_are_named(pipeline):
    x, y, _, _ = pipeline
    report = diagnose(compiled(small_cnn()), x.astype("float32") / 255, y, progress=False)
    assert report.codes[:1] == ["inputs_scaled_twice"], report


def test_a_whole_model_frozen_is_named_and_a_frozen_layer_is_not(pipeline):
    x, y, _, _ = pipeline
    frozen = small_cnn()
    frozen.trainable = False
    assert diagnose(compiled(frozen), x, y, progress=False).codes[:1] == ["frozen_model"]
    one_frozen = small_cnn(n_conv=2)
    one_frozen.layers[2].trainable = False  # the first convolution: a KeyError in an earlier version
    assert diagnose(compiled(one_frozen), x, y, progress=False).codes == []


def test_diagnose_refuses_bad_input_with_a_clear_message(pipeline):
    x, y, x_val, y_val = pipeline
    with pytest.raises(ValueError, match="compile the model first"):
        diagnose(small_cnn(), x, y, progress=False)
    model = compiled(small_cnn())
    with pytest.raises(ValueError, match="3000 images but y has 5 labels"):
        diagnose(model, x, y[:5], progress=False)
    with pytest.raises(ValueError, match="class indices 0..9"):
        diagnose(model, x, y + 1, progress=False)
    with pytest.raises(ValueError, match="cannot take these images"):
        diagnose(model, x.reshape(len(x), -1), y, progress=False)
    with pytest.raises(ValueError, match="validation_data should be a pair"):
        diagnose(model, x, y, validation_data=x_val, progress=False)
    with pytest.raises(TypeError, match="fit does not take: learning_rate"):
        diagnose(model, x, y, learning_rate=0.1, progress=False)


def with_rate(rate, optimizer=keras.optimizers.Adam):
    model = small_cnn()
    model.compile(optimizer=optimizer(learning_rate=rate), loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("make_model, relabel, code", [
    (lambda: with_rate(1e-3), "shuffled", "labels_misaligned"),
    (lambda: with_rate(1e-3), "40% noise", "label_noise"),
    (lambda: with_rate(3.0), None, "learning_rate_too_high"),
    (lambda: with_rate(1e-7), None, "learning_rate_too_low"),
    (lambda: with_rate(1e-6, keras.optimizers.SGD), None, "learning_rate_too_low"),
    (lambda: with_rate(keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=5, decay_rate=0.01)), None,
     "learning_rate_too_low"),
], ids=["shuffled-labels", "noisy-labels", "rate-too-high", "rate-too-low", "sgd-rate-too-low",
        "schedule-decays-to-nothing"])
def test_the_probes_that_train_find_labels_and_learning_rates(make_model, relabel, code, pipeline):
    x, y, x_val, y_val = pipeline
    rng = np.random.default_rng(0)
    if relabel == "shuffled":
        y = rng.permutation(y)
    elif relabel == "40% noise":
        flip = rng.random(len(y)) < 0.4
        y = np.where(flip, (y + rng.integers(1, 10, len(y))) % 10, y)
    keras.utils.set_random_seed(0)
    model = make_model()
    config = model.optimizer.get_config()
    report = diagnose(model, x, y, validation_data=(x_val, y_val), epochs=5, progress=False)
    assert report.codes[:1] == [code], report
    assert model.optimizer.get_config() == config


def test_diagnose_leaves_the_global_random_state_as_it_found_it(pipeline):
    x, y, x_val, y_val = pipeline
    model = compiled(small_cnn())
    python_state, numpy_state = random.getstate(), np.random.get_state()
    diagnose(model, x[:1000], y[:1000], validation_data=(x_val, y_val), progress=False)
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state[1:2], after[1:2])) and numpy_state[2] == after[2]


def backbone_inside(scale_inside=True):
    """The usual transfer-learning model: a frozen backbone (with its own Rescaling) nested as one layer."""
    backbone = keras.Sequential([keras.Input((16, 16, 3)), *([layers.Rescaling(1 / 255)] if scale_inside else []),
                                 layers.Conv2D(8, 3, activation="relu"), layers.GlobalAveragePooling2D()],
                                name="backbone")
    backbone.trainable = False
    inputs = keras.Input((16, 16, 3))
    return compiled(keras.Model(inputs, layers.Dense(10, activation="softmax")(backbone(inputs, training=False))))


def test_a_nested_frozen_backbone_is_followed_into(pipeline):
    x, y, x_val, y_val = pipeline
    report = diagnose(backbone_inside(), x[:1000], y[:1000], progress=False)
    assert "unscaled_inputs" not in report.codes and not any("failed" in note for note in report.notes), report
    assert diagnose(backbone_inside(scale_inside=False), x[:1000], y[:1000], progress=False).codes[:1] == [
        "unscaled_inputs"]


def test_a_deep_sigmoid_mlp_has_vanishing_gradients_not_unscaled_inputs(pipeline):
    x, y, _, _ = pipeline
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                              *[layers.Dense(32, activation="sigmoid") for _ in range(14)],
                              layers.Dense(10, activation="softmax")])
    assert diagnose(compiled(model), x[:1000], y[:1000], progress=False).codes[:1] == ["vanishing_gradients"]


def test_an_adapted_normalization_layer_survives_the_copies_that_train(pipeline):
    x, y, x_val, y_val = pipeline
    norm = layers.Normalization()
    norm.adapt(x[:500].astype("float32"))
    model = keras.Sequential([keras.Input((16, 16, 3)), norm, layers.Conv2D(8, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    assert diagnose(compiled(model), x, y, validation_data=(x_val, y_val), progress=False).codes == []


def test_a_dataset_sorted_by_class_is_unshuffled_and_a_shuffled_one_is_not(pipeline):
    tf = pytest.importorskip("tensorflow")
    x, y, x_val, y_val = pipeline
    order = np.argsort(y, kind="stable")
    unshuffled = tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(32)
    report = diagnose(compiled(small_cnn()), unshuffled, progress=False, max_images=1000)
    assert report.codes[:1] == ["unshuffled_data"], report
    assert any("sorted by class" in note for note in report.notes)  # class counts of a sorted prefix mean nothing
    shuffled = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(3000, seed=0).batch(32)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32)
    assert diagnose(compiled(small_cnn()), shuffled, validation_data=val, progress=False).codes == []


def test_pixels_read_in_the_wrong_memory_order_are_scrambled_images():
    rng = np.random.default_rng(0)
    y = np.arange(1000) % 10
    blocks = rng.integers(0, 256, (10, 4, 4, 3))[y] + rng.normal(0, 10, (1000, 4, 4, 3))
    x = np.clip(blocks.repeat(4, axis=1).repeat(4, axis=2), 0, 255).astype("uint8")  # smooth 16x16 images
    scrambled = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape)  # channels-first memory as last
    assert diagnose(compiled(small_cnn()), scrambled, y, progress=False).codes[:1] == ["scrambled_images"]
    assert "scrambled_images" not in diagnose(compiled(small_cnn()), x, y, progress=False).codes


def test_a_loss_that_is_nan_from_the_start_is_named_not_a_crash(pipeline):
    x, y, _, _ = pipeline

    def broken_loss(y_true, y_pred):
        return keras.ops.log(y_pred * 0.0)  # a custom loss that takes the log of 0
    model = compiled(small_cnn(), broken_loss)
    report = diagnose(model, x[:1000], y[:1000], progress=False)
    assert report.codes[:1] == ["nonfinite_loss"], report


def test_a_subclassed_model_is_diagnosed_or_its_probes_say_why_not(pipeline):
    x, y, _, _ = pipeline

    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.scale, self.conv = layers.Rescaling(1 / 255), layers.Conv2D(8, 3, activation="relu")
            self.flat, self.out = layers.Flatten(), layers.Dense(10, activation="softmax")

        def call(self, inputs):
            return self.out(self.flat(self.conv(self.scale(inputs))))

    model = Tiny()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    report = diagnose(model, x[:1000], y[:1000], progress=False)
    assert report.codes == [] or report.codes == ["too_little_data"], report


def test_monitor_takes_a_dataset_and_never_stops_the_learners_fit(pipeline):
    tf = pytest.importorskip("tensorflow")
    x, y, x_val, y_val = pipeline
    model = small_cnn(n_conv=2)
    model.layers[2].trainable = False  # a frozen layer: the gradient check raised KeyError inside fit before
    compiled(model)
    monitor = Monitor(tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(64), verbose=False)
    assert len(monitor.x_probe) == 256
    history = model.fit(x[:500], y[:500], epochs=2, batch_size=64, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 2 and not monitor.disabled

    class Broken(Monitor):
        def _check_predictions(self):
            raise RuntimeError("a check that fails on this model")

    broken = Broken(x_val[:64], y_val[:64], verbose=False)
    with pytest.warns(UserWarning, match="Monitor stopped watching"):
        history = model.fit(x[:500], y[:500], epochs=2, batch_size=64, verbose=0, callbacks=[broken])
    assert len(history.history["loss"]) == 2 and broken.disabled


def test_a_healthy_one_output_binary_classifier_is_matched_by_threshold(pipeline):
    """A sigmoid unit says yes or no: its class is output > 0.5, not the argmax of one column (always 0)."""
    x, y, x_val, y_val = pipeline
    two, two_val = y < 2, y_val < 2
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    report = diagnose(model, x[two], y[two].astype("float32"), validation_data=(x_val[two_val], y_val[two_val]),
                      progress=False)
    assert report.codes == [], report
