"""Checks for lesson 04, "A bad learning rate"."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from cnncourse.checks import Verdict, correct, not_attempted, read_number, trained_run, wrong
from cnncourse.training import TrainingResult

if TYPE_CHECKING:
    from cnncourse.lr_range import RangeTestResult


def check_pick(my_lr: Any, result: RangeTestResult) -> Verdict:
    """Exercise 1: a constant learning rate read off the range test: on the falling part, 3 to 10
    times below the lowest point (read by eye on a log axis, anything from 30x to 2x below passes)."""
    rate = read_number(my_lr, "my_lr", expected="one positive number, e.g. 3e-4")
    if isinstance(rate, Verdict):
        return rate
    if not 0 < rate < np.inf:
        return wrong(f"`my_lr` should be one positive number, e.g. 3e-4; got {rate:g}.")
    lowest = result.lowest_loss_rate
    if rate > lowest / 2:
        return wrong(f"{rate:.1e} is too close to, or past, the lowest point of the curve ({lowest:.1e}): there "
                     "the loss is about to blow up, and a whole training run would be unstable.",
                     "Go 3 to 10 times lower than the lowest point, where the loss is still falling.")
    if rate < lowest / 30:
        return wrong(f"{rate:.1e} is far left of the lowest point ({lowest:.1e}), where the loss has hardly "
                     "started to fall: training would crawl.",
                     "Choose a rate 3 to 10 times below the lowest point.")
    return correct(f"Correct: {rate:.1e} is {lowest / rate:.0f} times below the lowest point ({lowest:.1e}), "
                   "on the falling part of the curve: fast, with room before the cliff.")


def _learning_rate(optimizer: Any) -> float | keras.optimizers.schedules.LearningRateSchedule | None:
    """The optimizer's learning rate as built: a float, or the schedule object itself. Read from the optimizer,
    not from get_config(): a learner's own LearningRateSchedule is correct Keras without a get_config."""
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return rate
    try:
        return float(rate if rate is not None else optimizer.learning_rate)
    except Exception:  # not a Keras 3 optimizer, or a rate of a kind nobody expects here
        return None


def _optimizer(run: TrainingResult) -> tuple[str, float, bool, Any]:
    """The run's optimizer: its class name, momentum, whether Nesterov, and its learning rate (see _learning_rate)."""
    optimizer = getattr(run.model, "optimizer", None)
    if optimizer is None:
        return "none", 0.0, False, None
    try:
        momentum = float(getattr(optimizer, "momentum", 0.0) or 0.0)
    except (TypeError, ValueError):
        momentum = 0.0
    return type(optimizer).__name__, momentum, bool(getattr(optimizer, "nesterov", False)), _learning_rate(optimizer)


SGD_EXAMPLE = "sgd_run = fit('SGD momentum', optimizer=keras.optimizers.SGD(my_sgd_lr, momentum=0.9))"
LEARNED = 0.20  # validation accuracy (twice chance) of a run that clearly learned


def check_sgd_run(run: Any, target: float, adam_rate: float, sgd_test: RangeTestResult | None = None) -> Verdict:
    """Exercise 2: a run trained with ``SGD(momentum=0.9)`` (Nesterov's variant too) at a constant rate the
    learner chose. ``adam_rate`` is the rate the lesson trained Adam with: copying it is the mistake the exercise
    is about. ``sgd_test`` is the lesson's range test of SGD with momentum, where the decision is read.

    Passes a run that reaches ``target``, unless its rate is Adam's; and, with ``sgd_test``, a run that clearly
    learned (validation accuracy at least twice chance, no blow-up) at a rate the range test supports (2 to 30
    times below its lowest point, as exercise 1 reads it), even a little under ``target``: five epochs scatter
    sound answers. Measured on seeds 0-2 at the rate the lesson teaches (a third of ``sgd_test``'s lowest point):
    momentum reached 0.36-0.40, Nesterov momentum 0.27, 0.42 and 0.44 (on seed 0 its loss spiked in epoch 2:
    Nesterov's own range test puts its lowest point 1.1 to 1.9 times lower than plain momentum's, so that rate
    sits nearer its edge); Adam's rate copied in reached 0.15-0.27 on seeds 0-4."""
    problem = trained_run(run, "sgd_run", made_by="fit()", example=SGD_EXAMPLE)
    if problem is not None:
        return problem
    name, momentum, nesterov, rate = _optimizer(run)
    if name != "SGD" or abs(momentum - 0.9) > 1e-6:
        used = f"{name} with momentum {momentum:g}" if name == "SGD" else name
        return wrong(f"`sgd_run` was trained with {used}: this exercise is about SGD with momentum 0.9.",
                     SGD_EXAMPLE)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return wrong("`sgd_run`'s learning rate is a schedule: choose one constant rate for this exercise.",
                     SGD_EXAMPLE)
    if rate is None or not 0 < rate < np.inf:
        return wrong(f"`sgd_run`'s optimizer has no usable learning rate ({rate}).", SGD_EXAMPLE)
    losses, accuracy = np.asarray(run.history["loss"], dtype=float), run.val_accuracy
    sgd = "SGD with Nesterov momentum" if nesterov else "SGD with momentum"
    blew_up = not (np.all(np.isfinite(losses)) and np.isfinite(accuracy))
    stuck = blew_up or losses[0] > 2 * np.log(10) or losses[-1] > 0.98 * np.log(10)
    lowest = sgd_test.lowest_loss_rate if sgd_test is not None else None
    supported = lowest is not None and lowest / 30 <= rate <= lowest / 2
    where = f", {lowest / rate:.0f} times below the lowest point of SGD's range test ({lowest:.1e})" \
        if supported else ""
    if rate <= 3 * adam_rate:
        return wrong(f"{rate:.1e} is Adam's range (Adam trained at {adam_rate:.1e}), and {sgd} at {rate:.1e} reaches "
                     f"{accuracy:.3f} (target {target:.2f}): the loss went from {losses[0]:.2f} to {losses[-1]:.2f}.",
                     "Adam divides each step by the gradients' typical size; SGD does not, so its useful rates "
                     "lie elsewhere. Read the range test of this optimizer (section 3's sgd_test, or "
                     "lr_range_test(..., optimizer=keras.optimizers.SGD(momentum=0.9))).")
    if not stuck and (accuracy >= target or (supported and accuracy >= LEARNED)):
        short = "" if accuracy >= target else (
            f" That is under the {target * 100:.0f} % target, but your rate is the range test's, and the run learned: "
            "five short epochs scatter (on seeds 0-2, Nesterov momentum at a third of the lowest point reached 27 to "
            "44 %)." + (" With Nesterov's look-ahead, a range test of its own put the lowest point 1.1 to 1.9 times "
                        "lower than plain momentum's on those seeds: go nearer 10 times below." if nesterov else ""))
        return correct(f"Correct: {sgd} at {rate:.1e}{where} ({rate / adam_rate:.0f} times Adam's {adam_rate:.1e}) "
                       f"reaches {accuracy:.3f}.{short} A learning rate belongs to its optimizer: change the "
                       "optimizer, and redo the range test.")
    if stuck:
        return wrong(f"At {rate:.1e} the run blew up or never left chance (training loss {losses[0]:.3g} in "
                     f"the first epoch, {losses[-1]:.3g} in the last; validation {accuracy:.3f}).",
                     "Too high: momentum 0.9 adds up about 1 / (1 - 0.9) = 10 past steps, so each step is about "
                     "ten times the rate times the gradient. Read the range test of this very optimizer "
                     "(section 3's sgd_test) and pick 3 to 10 times below its lowest point.")
    if lowest is not None and rate > lowest / 2:
        advice = f"{rate:.1e} is at or past the lowest point of SGD's range test ({lowest:.1e}), where the loss is " \
                 "about to blow up."
    elif lowest is not None and rate < lowest / 30:
        advice = f"{rate:.1e} is far left of the lowest point of SGD's range test ({lowest:.1e}): training crawls."
    else:
        advice = ""
    return wrong(f"{sgd} at {rate:.1e} reaches {accuracy:.3f}, below the target {target:.2f} "
                 f"(training loss {losses[0]:.2f} -> {losses[-1]:.2f}). {advice}".rstrip(),
                 "Read the range test of SGD(momentum=0.9) (section 3's sgd_test): train 3 to 10 times below "
                 "its lowest point.")


STEP_EXAMPLE = ("keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[3 * STEPS_PER_EPOCH], "
                "values=[peak, peak / 10])")


def _rates(schedule: Any, steps: range) -> np.ndarray:
    """The schedule's learning rate at each of ``steps``, called as the optimizer calls it. A learner's schedule
    may want a tensor (the optimizer passes its step counter, a variable) or a Python int: both are tried."""
    rates = []
    for step in steps:
        try:
            rate = schedule(step)
        except Exception:
            rate = schedule(keras.ops.convert_to_tensor(step, dtype="int64"))
        rates.append(float(rate))
    return np.array(rates)


def _drop_after(schedule: Any, total_steps: int) -> int | None:
    """The first step after the run (up to 10 runs' worth) at which the rate falls, or None."""
    later = _rates(schedule, range(total_steps - 1, 10 * total_steps))
    drops = np.flatnonzero(later[1:] < later[:-1] * (1 - 1e-6))
    return total_steps + int(drops[0]) if len(drops) else None


def _describe_shape(schedule: Any, rates: np.ndarray) -> Verdict | None:
    """None for a step schedule that decays within the run (the rate falls at a few steps, never rises, and first
    falls after the first tenth of the run); else a wrong verdict that says what the schedule does instead."""
    total, first, last = len(rates), rates[0], rates[-1]
    rises = np.flatnonzero(rates[1:] > rates[:-1] * (1 + 1e-6))
    falls = np.flatnonzero(rates[1:] < rates[:-1] * (1 - 1e-6))
    if len(rises):
        top = int(np.argmax(rates))
        return wrong(f"The schedule rises: from {first:.1e} at step 0 to {rates[top]:.1e} at step {top} (a warm-up?), "
                     f"and ends at {last:.1e}. This exercise asks for a step down: the rate `peak` first, then 10 "
                     "times less.", STEP_EXAMPLE)
    if not len(falls):
        drops_at = _drop_after(schedule, total)
        if drops_at is not None:
            return wrong(f"The schedule stays at {first:.1e} for the whole run of {total} steps: it first drops at "
                         f"step {drops_at}, after the run has ended.",
                         "Boundaries count steps (batches), not epochs, and must lie inside the run: "
                         "3 epochs are 3 * STEPS_PER_EPOCH steps.")
        return wrong(f"The schedule stays at {first:.1e} for all {total} steps: it does not decay.",
                     "Put the boundary (in steps, not epochs) inside the run: 3 * STEPS_PER_EPOCH.")
    if len(falls) > 10:
        return wrong(f"The schedule lowers the rate a little at {len(falls)} of the run's {total} steps, from "
                     f"{first:.1e} to {last:.1e}: a smooth decay, like ExponentialDecay or CosineDecay. This "
                     "exercise asks for a step: a constant rate, then 10 times less.", STEP_EXAMPLE)
    decays_at = int(falls[0]) + 1
    if decays_at < total // 10:
        return wrong(f"The rate drops from {first:.1e} to {rates[decays_at]:.1e} after {decays_at} steps of "
                     f"{total}: before the first epoch is over.",
                     "Boundaries count steps (batches), not epochs: 3 epochs are 3 * STEPS_PER_EPOCH steps.")
    return None


def _schedule_used(run: TrainingResult) -> Any:
    """The learning-rate schedule the run's optimizer was built with (the object itself), or a float."""
    return _optimizer(run)[3]


def check_step_schedule(schedule: Any, run: Any, target: float, total_steps: int) -> Verdict:
    """Exercise 3: a step schedule (a constant rate, then less) as a Keras learning-rate schedule, and a run with
    it that reaches ``target``. The schedule is judged by its values, called on the run's steps, never by its
    config: a learner's own LearningRateSchedule subclass needs no get_config."""
    if schedule is None:
        return not_attempted("schedule")
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return wrong(f"`schedule` should be a Keras learning-rate schedule, not a {type(schedule).__name__}.",
                     STEP_EXAMPLE)
    try:
        rates = _rates(schedule, range(total_steps))
    except Exception as error:  # a learner's own schedule can fail in any way; say how
        return wrong(f"Calling `schedule(step)` on the run's steps failed: {type(error).__name__}: {error}",
                     "A schedule takes the step number (the optimizer passes a tensor) and returns the rate.")
    if not np.all(np.isfinite(rates) & (rates >= 0)):
        bad = int(np.flatnonzero(~(np.isfinite(rates) & (rates >= 0)))[0])
        return wrong(f"`schedule({bad})` is {rates[bad]:g}: a learning rate must be a positive number.")
    shape = _describe_shape(schedule, rates)
    if shape is not None:
        return shape
    first, last = rates[0], rates[-1]
    problem = trained_run(run, "my_run", example="my_run = fit('step schedule', optimizer=keras.optimizers.Adam("
                                                 "schedule))")
    if problem is not None:
        return problem
    used = _schedule_used(run)
    if used is schedule:
        same = True
    elif isinstance(used, keras.optimizers.schedules.LearningRateSchedule):
        try:
            same = np.allclose(_rates(used, range(total_steps)), rates, rtol=1e-5, atol=0)
        except Exception:  # the run's schedule is not the learner's, and fails: not the same
            same = False
    else:
        same = False
    if not same:
        return wrong("`my_run` was not trained with your schedule: its optimizer's learning rate is "
                     + ("a different schedule." if isinstance(used, keras.optimizers.schedules.LearningRateSchedule)
                        else "a constant."),
                     "Train it with fit('step schedule', optimizer=keras.optimizers.Adam(schedule)).")
    if not np.isfinite(run.val_accuracy) or run.val_accuracy < target:
        return wrong(f"Final validation accuracy {run.val_accuracy:.3f} is below the target {target:.2f}.",
                     f"Your schedule goes from {first:.1e} to {last:.1e}. Start near the range test's "
                     "suggestion (or up to 3x above it) and decay by 10x for the last epochs.")
    return correct(f"Correct: the rate goes from {first:.1e} down to {last:.1e}, and the run ends at "
                   f"{run.val_accuracy:.3f} validation accuracy (target {target:.2f}).")
