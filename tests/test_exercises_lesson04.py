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


def compiled_with(optimizer, val_accuracy=0.45, loss=(1.9, 1.5)):
    """A run whose model was compiled with ``optimizer``, as fit(..., optimizer=...) makes."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return TrainingResult(name="r", history={"val_accuracy": [val_accuracy], "accuracy": [0.5], "loss": list(loss),
                                             "val_loss": [1.0]}, seconds=1.0, model=model)


ADAM_RATE = 1e-3


def check_sgd(run):
    return lesson04.check_sgd_run(run, target=0.3, adam_rate=ADAM_RATE)


@pytest.mark.parametrize("rate", [1e-2, 3e-2])
def test_sgd_run_passes_momentum_sgd_that_reaches_the_target(rate):
    verdict = check_sgd(compiled_with(keras.optimizers.SGD(rate, momentum=0.9), val_accuracy=0.36))
    assert verdict.passed and "times Adam's" in verdict.message, verdict


@pytest.mark.parametrize("run, says", [
    (compiled_with(keras.optimizers.SGD(1e-3, momentum=0.9), 0.22, (2.2, 1.9)), "Adam's range"),
    (compiled_with(keras.optimizers.SGD(3e-4, momentum=0.9), 0.15, (2.3, 2.29)), "Adam's range"),
    (compiled_with(keras.optimizers.SGD(0.3, momentum=0.9), 0.10, (40.0, 2.303)), "Too high"),
    (compiled_with(keras.optimizers.SGD(0.1, momentum=0.9), 0.10, (float("nan"), float("nan"))), "Too high"),
    (compiled_with(keras.optimizers.SGD(5e-3, momentum=0.9), 0.27, (2.1, 1.8)), "below the target"),
    (compiled_with(keras.optimizers.SGD(1e-2), 0.36), "momentum 0"),  # plain SGD
    (compiled_with(keras.optimizers.Adam(1e-3), 0.45), "trained with Adam"),
    (compiled_with(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.5),
                                        momentum=0.9), 0.36), "schedule"),
    ("my run", "what fit() returns"),
])
def test_sgd_run_wrong_answers_fail_with_a_reason(run, says):
    verdict = check_sgd(run)
    assert not verdict.passed and says in str(verdict), verdict


def test_sgd_run_not_attempted():
    assert check_sgd(None).status == "not attempted"


def trained_with(learning_rate, val_accuracy=0.45):
    """A run compiled with Adam(learning_rate), as fit(..., optimizer=Adam(schedule)) makes."""
    return compiled_with(keras.optimizers.Adam(learning_rate), val_accuracy)


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
