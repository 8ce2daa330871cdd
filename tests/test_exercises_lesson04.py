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
    (float("nan"), False, "positive number"),
    (float("inf"), False, "positive number"),
    ("1e-3", False, "give a number, not the text '1e-3'"),
    ([1e-3], False, "one positive number"),
])
def test_pick_accepts_about_ten_times_below_the_lowest_point(rate, passed, says):
    verdict = lesson04.check_pick(rate, CURVE)
    assert verdict.passed == passed and says in verdict.message
    assert lesson04.check_pick(None, CURVE).status == "not attempted"


def compiled_with(optimizer, val_accuracy=0.45, loss=(1.9, 1.5), history=None):
    """A run whose model was compiled with ``optimizer``, as fit(..., optimizer=...) makes."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    history = {"val_accuracy": [val_accuracy], "accuracy": [0.5], "loss": list(loss),
               "val_loss": [1.0]} if history is None else history
    return TrainingResult(name="r", history=history, seconds=1.0, model=model)


class OwnStep(keras.optimizers.schedules.LearningRateSchedule):
    """A learner's own step schedule: correct Keras, without get_config (so the optimizer's get_config fails)."""

    def __init__(self, boundary=60, rates=(1e-3, 1e-4)):
        self.boundary, self.rates = boundary, rates

    def __call__(self, step):
        return keras.ops.where(step < self.boundary, self.rates[0], self.rates[1])


class NeedsATensor(OwnStep):
    """A schedule that only takes what the optimizer passes, a tensor: a Python int has no dtype."""

    def __call__(self, step):
        return keras.ops.where(keras.ops.cast(step, step.dtype) < self.boundary, self.rates[0], self.rates[1])


class Broken(OwnStep):
    def __call__(self, step):
        raise RuntimeError("boom")


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
    (compiled_with(keras.optimizers.SGD(OwnStep(60, (1e-2, 1e-3)), momentum=0.9), 0.36), "schedule"),  # no config
    ("my run", "what fit() returns"),
    (compiled_with(keras.optimizers.SGD(1e-2, momentum=0.9), history={}), "no epoch to judge"),
    (compiled_with(keras.optimizers.SGD(1e-2, momentum=0.9),
                   history={"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}), "no epoch to judge"),
    (compiled_with(keras.optimizers.SGD(1e-2, momentum=0.9), history={"loss": [2.0], "accuracy": [0.3]}),
     "no val_accuracy"),
])
def test_sgd_run_wrong_answers_fail_with_a_reason(run, says):
    verdict = check_sgd(run)
    assert not verdict.passed and says in str(verdict), verdict


def test_sgd_run_not_attempted():
    assert check_sgd(None).status == "not attempted"


SGD_CURVE = RangeTestResult(RATES * 30, LOSSES)  # SGD's range test: its lowest point 30 times further right
SGD_LOWEST = SGD_CURVE.lowest_loss_rate


def sgd_run(rate, val_accuracy, loss=(2.25, 1.86), nesterov=False):
    return compiled_with(keras.optimizers.SGD(rate, momentum=0.9, nesterov=nesterov), val_accuracy, loss)


def check_sgd_with_test(run):
    return lesson04.check_sgd_run(run, target=0.3, adam_rate=ADAM_RATE, sgd_test=SGD_CURVE)


@pytest.mark.parametrize("run, says", [
    (sgd_run(SGD_LOWEST / 3, 0.36), "Correct: SGD with momentum"),
    (sgd_run(SGD_LOWEST / 3, 0.42, nesterov=True), "Correct: SGD with Nesterov momentum"),
    # the rate the lesson teaches, with Nesterov, on seed 0: the loss spiked in epoch 2, the run ended at 0.269
    (sgd_run(SGD_LOWEST / 3, 0.269, nesterov=True), "under the 30 % target, but your rate is the range test's"),
    (sgd_run(SGD_LOWEST / 10, 0.28), "under the 30 % target"),
    (sgd_run(SGD_LOWEST, 0.33), "Correct"),  # past the range test's advice, but it trained: the target holds
], ids=["momentum", "nesterov", "nesterov-a-little-under", "ten-times-below", "lowest-point-reaching-target"])
def test_sgd_run_judges_the_rate_against_sgds_range_test(run, says):
    verdict = check_sgd_with_test(run)
    assert verdict.passed and says in verdict.message, verdict
    supported = SGD_LOWEST / 30 <= float(run.model.optimizer.learning_rate) <= SGD_LOWEST / 2
    assert supported == ("times below the lowest point of SGD's range test" in verdict.message)


@pytest.mark.parametrize("run, says", [
    (sgd_run(SGD_LOWEST / 3, 0.269, nesterov=True), "below the target"),  # without the range test: the target
])
def test_sgd_run_without_the_range_test_keeps_to_the_target(run, says):
    verdict = check_sgd(run)
    assert not verdict.passed and says in verdict.message, verdict


@pytest.mark.parametrize("run, says", [
    (sgd_run(2 * ADAM_RATE, 0.31, (2.2, 1.9)), "Adam's range"),  # Adam's rate copied in, lucky: still the mistake
    (sgd_run(SGD_LOWEST / 3, 0.15, (2.28, 2.2)), "below the target"),  # in the range, but it did not learn
    (sgd_run(SGD_LOWEST / 3, 0.25, (2.28, float("nan"))), "blew up"),
    (sgd_run(SGD_LOWEST, 0.25, (2.25, 2.0)), "at or past the lowest point of SGD's range test"),
    (sgd_run(SGD_LOWEST / 60, 0.25, (2.29, 2.1)), "far left of the lowest point"),
    (sgd_run(SGD_LOWEST * 3, 0.10, (40.0, 2.303), nesterov=True), "Too high"),
])
def test_sgd_run_with_the_range_test_still_fails_unsound_runs(run, says):
    verdict = check_sgd_with_test(run)
    assert not verdict.passed and says in str(verdict), verdict


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


@pytest.mark.parametrize("make", [
    lambda: OwnStep(),  # a LearningRateSchedule subclass without get_config: judged by its values
    lambda: NeedsATensor(),
    lambda: keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=60, decay_rate=0.1, staircase=True),
    lambda: keras.optimizers.schedules.PiecewiseConstantDecay([40, 70], [1e-3, 3e-4, 1e-4]),
], ids=["own subclass", "own subclass wanting a tensor", "staircase exponential", "two steps"])
def test_step_schedule_passes_every_spelling_of_a_step(make):
    schedule = make()
    verdict = check_step(schedule, trained_with(schedule))
    assert verdict.passed, verdict
    assert check_step(schedule, trained_with(make())).passed, "an equal schedule, built again"


def test_own_schedule_and_a_run_with_another():
    assert "a different schedule" in check_step(OwnStep(), trained_with(OwnStep(80))).message
    assert "a different schedule" in check_step(OwnStep(), trained_with(step(80))).message
    assert "a constant" in check_step(OwnStep(), trained_with(1e-3)).message
    assert "below the target" in check_step(OwnStep(), trained_with(OwnStep(), val_accuracy=0.3)).message


SCHEDULES = keras.optimizers.schedules


@pytest.mark.parametrize("schedule, run, says", [
    (step(), trained_with(step(), val_accuracy=0.35), "below the target"),
    (step(), trained_with(1e-3), "a constant"),  # the constant-rate run handed in
    (step(), trained_with(step(80)), "a different schedule"),
    (step(3), trained_with(step(3)), "Boundaries count steps"),  # the boundary given in epochs
    (step(3), trained_with(step(3)), "drops from 1.0e-03 to 1.0e-04 after 4 steps of 100"),
    (step(600), None, "it first drops at step 601, after the run has ended"),  # the boundary after the run
    (SCHEDULES.PiecewiseConstantDecay([5000], [1e-3, 1e-4]), None, "does not decay"),
    (SCHEDULES.PiecewiseConstantDecay([50], [1e-3, 1e-3]), None, "does not decay"),
    (SCHEDULES.ExponentialDecay(1e-3, decay_steps=100, decay_rate=0.1), None, "a smooth decay"),
    (SCHEDULES.CosineDecay(1e-3, decay_steps=100), None, "a smooth decay"),
    (SCHEDULES.InverseTimeDecay(1e-3, decay_steps=10, decay_rate=0.5), None, "a smooth decay"),
    (SCHEDULES.CosineDecay(0.0, decay_steps=100, warmup_target=1e-3, warmup_steps=10), None, "rises"),
    (SCHEDULES.PiecewiseConstantDecay([60], [1e-4, 1e-3]), None, "rises"),
    (OwnStep(rates=(1e-3, float("nan"))), None, "must be a positive number"),
    (OwnStep(rates=(1e-3, -1e-4)), None, "must be a positive number"),
    (Broken(), None, "RuntimeError: boom"),
    (1e-3, None, "schedule"),
    (step(), "my run", "what train() returns"),
    (step(), compiled_with(keras.optimizers.Adam(step()), history={"loss": []}), "no epoch to judge"),
])
def test_step_schedule_wrong_answers_fail_with_a_reason(schedule, run, says):
    verdict = check_step(schedule, run)
    assert not verdict.passed and says in str(verdict), verdict


@pytest.mark.parametrize("schedule", [SCHEDULES.ExponentialDecay(1e-3, decay_steps=100, decay_rate=0.1),
                                      SCHEDULES.CosineDecay(1e-3, decay_steps=100)], ids=["exponential", "cosine"])
def test_a_smooth_decay_is_told_what_it_is_not_about_boundaries(schedule):
    verdict = check_step(schedule, None)
    assert "Boundaries" not in str(verdict) and "epochs" not in verdict.message
    assert "a smooth decay" in verdict.message and "PiecewiseConstantDecay" in verdict.hint


def test_step_schedule_not_attempted():
    assert check_step(step(), None).status == "not attempted"
    assert check_step(None, None).status == "not attempted"
