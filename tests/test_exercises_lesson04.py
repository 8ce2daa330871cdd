import keras
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnncourse.exercises import lesson04  # noqa: E402
from cnncourse.lr_range import RangeTestResult  # noqa: E402
from cnncourse.training import TrainingResult  # noqa: E402

# Flat at 2.3 up to 1e-4, falling to a low point at 1e-2, then exploding.
RATES = np.geomspace(1e-6, 1, 61)
LOSSES = np.where(RATES < 1e-4, 2.3,
                  np.where(RATES <= 1e-2, 2.3 - 0.5 * np.log10(RATES / 1e-4), 1.3 * (RATES / 1e-2) ** 3))
CURVE = RangeTestResult(RATES, LOSSES)


@pytest.mark.parametrize("rate, passed, says", [
    (1e-3, True, "10 times below the lowest point"),
    (4e-4, True, "falling part"),
    (6e-3, False, "too close to, or past"),
    (3e-2, False, "too close to, or past"),
    (1e-4, False, "crawl"),
    (-1e-3, False, "positive number"),
    ("1e-3", False, "positive number"),
])
def test_pick_accepts_about_ten_times_below_the_lowest_point(rate, passed, says):
    verdict = lesson04.check_pick(rate, CURVE)
    assert verdict.passed == passed and says in verdict.message
    assert lesson04.check_pick(None, CURVE).status == "not attempted"


def result(loss, val_accuracy=0.4):
    history = {"loss": loss, "val_loss": loss, "accuracy": [0.1] * len(loss),
               "val_accuracy": [val_accuracy] * len(loss)}
    return TrainingResult(name="r", history=history, seconds=1.0, model=None)


def test_mystery_curves_draw_three_unlabelled_runs():
    runs = {1e-5: result([2.3, 2.29]), 1e-3: result([2.2, 1.8]), 1e-1: result([300.0, 2.31])}
    titles = [ax.get_title() for ax in lesson04.show_mystery_curves(runs).axes]
    assert [t.split(":")[0] for t in titles] == ["run A", "run B", "run C"]
    assert not any("e-" in t for t in titles), "the curves must not give their learning rate away"


def test_diagnosis():
    right = {letter: truth for letter, (_, truth) in lesson04.MYSTERY.items()}
    assert lesson04.check_diagnosis(right).passed
    assert lesson04.check_diagnosis({k: v.upper() + " " for k, v in right.items()}).passed
    swapped = dict(right, B=right["C"], C=right["B"])
    assert "Run B is not" in lesson04.check_diagnosis(swapped).message
    assert "keys" in lesson04.check_diagnosis({"A": "good"}).message
    assert "one of" in lesson04.check_diagnosis(dict(right, A="fine")).message
    assert lesson04.check_diagnosis(None).status == "not attempted"


def trained_with(learning_rate, val_accuracy=0.45):
    """A run whose model was compiled with Adam(learning_rate), as fit(..., optimizer=Adam(schedule)) makes."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return TrainingResult(name="r", history={"val_accuracy": [val_accuracy], "accuracy": [0.5], "loss": [1.0],
                                             "val_loss": [1.0]}, seconds=1.0, model=model)


def step(boundary=60):
    return keras.optimizers.schedules.PiecewiseConstantDecay([boundary], [1e-3, 1e-4])


def check_step(schedule, run):
    return lesson04.check_step_schedule(schedule, run, target=0.4, total_steps=100)


@pytest.mark.parametrize("make_run", [lambda schedule: trained_with(schedule),
                                      lambda schedule: trained_with(step())],  # an equal schedule, built again
                         ids=["the same schedule", "an equal one"])
def test_step_schedule_passes_a_run_trained_with_it(make_run):
    schedule = step()
    verdict = check_step(schedule, make_run(schedule))
    assert verdict.passed, verdict


@pytest.mark.parametrize("schedule, run, says", [
    (step(), trained_with(step(), val_accuracy=0.35), "below the target"),
    (step(), trained_with(1e-3), "a constant"),  # the constant-rate run handed in
    (step(), trained_with(step(80)), "a different schedule"),
    (step(3), trained_with(step(3)), "Boundaries count steps"),  # the boundary given in epochs
    (step(600), None, "does not decay"),  # the boundary after the end of the run
    (1e-3, None, "schedule"),
    (step(), "my run", "what train() returns"),
])
def test_step_schedule_wrong_answers_fail_with_a_reason(schedule, run, says):
    verdict = check_step(schedule, run)
    assert not verdict.passed and says in str(verdict), verdict


def test_step_schedule_not_attempted():
    assert check_step(step(), None).status == "not attempted"
    assert check_step(None, None).status == "not attempted"
