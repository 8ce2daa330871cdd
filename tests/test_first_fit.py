"""Tests of cnncourse.first_fit (`cnncourse-diagnose script.py`, `diagnose_first_fit`, `%%diagnose_first_fit`).

The scripts in tests/fixtures/scripts/ are written the way learners ask on Stack Overflow (Keras 3). Most tests
replace ``diagnose`` with a recording fake: they test the plumbing (which fit is diagnosed, with what, what
trains afterwards); two run the real ``diagnose``. All data are tiny: 16×16 images, a few hundred at most.
"""
import os
import runpy
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from cnncourse import first_fit
from cnncourse.diagnose import Monitor
from cnncourse.first_fit import StopAfterDiagnosis, diagnose_first_fit, main

SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "scripts"


class FakeReport:
    codes: list = []
    notes: list = []

    def __str__(self):
        return "FAKE REPORT: nothing found"


@pytest.fixture
def diagnosed(monkeypatch):
    """Replace diagnose with a fake that records each call (and reads 2 batches of a generator, as diagnose must)."""
    calls = []

    def fake(model, *args, **kwargs):
        call = types.SimpleNamespace(model=model, args=args, kwargs=kwargs, argv=list(sys.argv), path=list(sys.path),
                                     weights=[w.copy() for w in model.get_weights()], batches=[])
        if isinstance(kwargs.get("x"), types.GeneratorType):
            call.batches = [next(kwargs["x"]) for _ in range(2)]
        calls.append(call)
        return FakeReport()

    monkeypatch.setattr(first_fit, "diagnose", fake)
    return calls


@pytest.fixture
def fitted():
    """Record every call of keras.Model.fit (made by the context manager's real fit), then let it train."""
    calls, saved = [], keras.Model.__dict__.get("fit")
    real = keras.Model.fit

    def spy(model, *args, **kwargs):
        calls.append(types.SimpleNamespace(model=model, args=args, kwargs=kwargs))
        return real(model, *args, **kwargs)

    keras.Model.fit = spy
    yield calls
    if saved is None:
        del keras.Model.fit
    else:
        keras.Model.fit = saved


@pytest.fixture(scope="module")
def colours(colour_images):
    """300 16×16 images whose class (of 4) is their colour."""
    return colour_images(300, classes=4, size=16)


def tiny_model():
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def steps(model) -> int:
    return int(model.optimizer.iterations)


# --- the command: which fit is diagnosed, with what, and what trains afterwards ------------------------------

def test_the_first_fit_is_diagnosed_with_exactly_the_scripts_arguments(diagnosed, capsys):
    assert main([str(SCRIPTS / "healthy_scaled.py")]) == 0
    [call] = diagnosed
    assert isinstance(call.model, keras.Sequential) and call.args == ()
    assert set(call.kwargs) == {"x", "y", "epochs", "validation_split", "progress"}
    assert (call.kwargs["epochs"], call.kwargs["validation_split"]) == (2, 0.2)
    assert call.kwargs["x"].shape == (200, 16, 16, 3) and call.kwargs["x"].dtype == np.uint8
    assert call.kwargs["y"].shape == (200,)
    assert "FAKE REPORT: nothing found" in capsys.readouterr().out


def test_then_stop_trains_nothing_and_ends_the_script_quietly(diagnosed, capsys):
    assert main(["--then", "stop", str(SCRIPTS / "unscaled_sgd.py")]) == 0
    [call] = diagnosed
    assert steps(call.model) == 0
    assert all(np.array_equal(a, b) for a, b in zip(call.weights, call.model.get_weights()))
    assert "final accuracy" not in capsys.readouterr().out  # the lines after fit did not run


def test_the_script_gets_its_own_arguments_and_folder_and_both_are_restored(diagnosed):
    argv, path = list(sys.argv), list(sys.path)
    script = SCRIPTS / "epochs_from_argv.py"
    assert main([str(script), "3"]) == 0
    [call] = diagnosed
    assert call.kwargs["epochs"] == 3 and call.argv == [str(script), "3"]
    assert str(SCRIPTS) in call.path
    assert (sys.argv, sys.path) == (argv, path)


def test_the_second_fit_is_untouched(diagnosed, fitted, capsys):
    assert main(["--then", "train", str(SCRIPTS / "fit_twice.py")]) == 0
    assert len(diagnosed) == 1
    assert [sorted(call.kwargs) for call in fitted] == [["epochs", "validation_split"], ["batch_size", "epochs",
                                                                                          "verbose"]]
    assert "second fit done: 1 epoch" in capsys.readouterr().out


def test_a_generators_batches_read_by_diagnose_still_reach_fit(diagnosed, monkeypatch):
    seen = []

    def counting_fit(model, x=None, **kwargs):
        seen.extend(x)
        return keras.callbacks.History()

    monkeypatch.setattr(keras.Model, "fit", counting_fit)
    assert main(["--then", "train", str(SCRIPTS / "generator_input.py")]) == 0
    [call] = diagnosed
    assert len(call.batches) == 2 and len(seen) == 7  # 200 images in batches of 32
    for read, trained in zip(call.batches, seen):
        assert np.array_equal(read[0], trained[0]) and np.array_equal(read[1], trained[1])


def test_keras_trains_on_every_batch_of_a_generator_after_diagnosis(diagnosed, capsys):
    script = str(SCRIPTS / "generator_input.py")
    runpy.run_path(script, run_name="__main__")  # without cnncourse-diagnose
    plain = capsys.readouterr().out.splitlines()[-1]
    assert plain.startswith("batches trained on:")
    assert main(["--then", "train", script]) == 0
    assert len(diagnosed[0].batches) == 2
    assert capsys.readouterr().out.splitlines()[-1] == plain


def test_fit_is_restored_even_when_the_script_raises(diagnosed, tmp_path):
    before = keras.Model.__dict__.get("fit"), keras.Model.fit
    script = tmp_path / "broken.py"
    script.write_text("raise RuntimeError('a bug of the learner')\n")
    with pytest.raises(RuntimeError, match="a bug of the learner"):
        main([str(script)])
    assert (keras.Model.__dict__.get("fit"), keras.Model.fit) == before
    assert diagnosed == []


def test_exit_codes_and_messages(diagnosed, capsys):
    assert main([str(SCRIPTS / "never_fits.py")]) == 2
    assert "the script finished without calling fit: nothing to diagnose" in capsys.readouterr().err
    assert main([str(SCRIPTS / "no_such_script.py")]) == 2
    assert "there is no script" in capsys.readouterr().err
    with pytest.raises(SystemExit) as end:
        main(["--help"])
    assert end.value.code == 0 and "first model.fit" in capsys.readouterr().out.replace("\n", " ")


def test_the_installed_command(tmp_path):
    command = Path(sys.executable).with_name("cnncourse-diagnose")
    assert command.exists(), "cnncourse-diagnose is not installed: run `pip install -e .`"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([str(command), str(SCRIPTS / "never_fits.py")], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert "the script finished without calling fit: nothing to diagnose" in result.stderr


# --- the context manager ----------------------------------------------------------------------------------

def test_then_monitor_adds_a_monitor_and_leaves_the_learners_callbacks_alone(diagnosed, fitted, colours):
    x, y = colours
    model, history = tiny_model(), keras.callbacks.History()
    callbacks = [history]
    with diagnose_first_fit(then="monitor", progress=False) as first:
        model.fit(x[:64], y[:64], epochs=1, verbose=0, callbacks=callbacks, validation_data=(x, y))
    assert callbacks == [history] and history.history  # the learner's callback ran, their list is as it was
    [call] = fitted
    assert call.kwargs["callbacks"] == [history, first.monitor] and isinstance(first.monitor, Monitor)
    assert len(first.monitor.x_probe) == 256 and np.array_equal(first.monitor.x_probe, x[:256])
    assert steps(model) == 2 and first.report is not None


def test_then_monitor_probes_a_validation_dataset(diagnosed, fitted, colours):
    import tensorflow as tf

    x, y = colours
    validation = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    with diagnose_first_fit(then="monitor", progress=False) as first:
        tiny_model().fit(x[:64], y[:64], epochs=1, verbose=0, validation_data=validation)
    assert len(first.monitor.x_probe) == 256 and np.array_equal(first.monitor.y_probe, y[:256])


def test_then_train_calls_fit_unchanged(diagnosed, fitted, colours):
    x, y = colours
    x, y, model, callbacks = x[:64], y[:64], tiny_model(), []
    with diagnose_first_fit(then="train", progress=False) as first:
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=callbacks)
    [call] = fitted
    assert call.model is model and call.args[0] is x and call.args[1] is y
    assert call.kwargs == {"epochs": 1, "batch_size": 32, "verbose": 0, "callbacks": callbacks}
    assert call.kwargs["callbacks"] is callbacks and first.monitor is None and steps(model) == 2


def test_a_refused_input_is_reported_and_fit_still_runs(monkeypatch, colours, capsys):
    def refuses(model, *args, **kwargs):
        raise ValueError("compile the model first")

    monkeypatch.setattr(first_fit, "diagnose", refuses)
    x, y = colours
    model = tiny_model()
    with diagnose_first_fit(then="train", progress=False) as first:
        model.fit(x[:32], y[:32], epochs=1, verbose=0)
    assert first.report is None and isinstance(first.error, ValueError) and steps(model) == 1
    assert "could not diagnose this fit: ValueError: compile the model first" in capsys.readouterr().err


def test_the_learners_own_error_is_not_hidden_and_fit_is_restored(diagnosed, colours):
    x, y = colours
    before = keras.Model.__dict__.get("fit")
    with pytest.raises(ZeroDivisionError):
        with diagnose_first_fit(then="stop"):
            1 / 0
    with pytest.raises(KeyError):
        with diagnose_first_fit(then="train", progress=False):
            tiny_model().fit(x[:32], y[:32], epochs=1, verbose=0).history["val_loss"]
    assert keras.Model.__dict__.get("fit") == before and len(diagnosed) == 1


def test_a_dataset_is_handed_over_as_it_is(diagnosed, colours):
    import tensorflow as tf

    x, y = colours
    dataset = tf.data.Dataset.from_tensor_slices((x[:64], y[:64])).batch(32)
    with diagnose_first_fit(then="stop"):
        tiny_model().fit(dataset, epochs=1)
    assert diagnosed[0].kwargs["x"] is dataset


# --- the cell magic ---------------------------------------------------------------------------------------

@pytest.fixture
def shell(tmp_path_factory, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext cnncourse.first_fit")
    yield shell
    InteractiveShell.clear_instance()


def test_the_cell_magic(diagnosed, shell, colours, capsys):
    x, y = colours
    shell.user_ns.update(model=tiny_model(), x=x[:32], y=y[:32])
    result = shell.run_cell("%%diagnose_first_fit --then stop\nmodel.fit(x, y, epochs=3)\nafter = True\n")
    assert result.success and "after" not in shell.user_ns and steps(shell.user_ns["model"]) == 0
    assert diagnosed[0].kwargs["epochs"] == 3 and "FAKE REPORT" in capsys.readouterr().out
    shell.run_cell("%%diagnose_first_fit --then train\nh = model.fit(x, y, epochs=1, verbose=0)\nafter = True\n")
    assert len(diagnosed) == 2 and shell.user_ns["after"] and steps(shell.user_ns["model"]) == 1
    shell.run_cell("%%diagnose_first_fit\nundefined_name\n")
    assert "NameError" in capsys.readouterr().out  # the learner's own error shows
    assert shell.custom_exceptions == () and "fit" not in keras.Model.__dict__


# --- the real diagnose ------------------------------------------------------------------------------------

def test_the_unscaled_script_is_diagnosed_for_real(capsys):
    assert main([str(SCRIPTS / "unscaled_sgd.py")]) == 0
    out = capsys.readouterr().out
    assert "unscaled_inputs" in out and "final accuracy" not in out


def test_a_dataset_is_diagnosed_for_real(colours):
    import tensorflow as tf

    x, y = colours
    model = tiny_model()
    with diagnose_first_fit(then="stop", progress=False) as first:
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=1)
    assert first.error is None and first.report is not None and steps(model) == 0


def test_stop_is_an_exception_a_learner_can_name():
    assert issubclass(StopAfterDiagnosis, Exception)
    with pytest.raises(ValueError, match="then must be one of"):
        diagnose_first_fit(then="later")
