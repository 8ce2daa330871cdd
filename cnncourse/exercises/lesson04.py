"""Checks for lesson 04, "A bad learning rate"."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from cnncourse.checks import Verdict, correct, is_single_number, not_attempted, wrong
from cnncourse.training import TrainingResult

if TYPE_CHECKING:
    from cnncourse.lr_range import RangeTestResult


def check_pick(my_lr: Any, result: RangeTestResult) -> Verdict:
    """Exercise 1: a constant learning rate read off the range test: on the falling part, 3 to 10
    times below the lowest point (read by eye on a log axis, anything from 30x to 2x below passes)."""
    if my_lr is None:
        return not_attempted("my_lr")
    if not is_single_number(my_lr) or not float(my_lr) > 0:
        return wrong(f"`my_lr` should be one positive number, e.g. 3e-4; got {my_lr!r}.")
    lowest, rate = result.lowest_loss_rate, float(my_lr)
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


def _optimizer_config(run: TrainingResult) -> tuple[str, dict]:
    optimizer = getattr(run.model, "optimizer", None)
    return (type(optimizer).__name__, optimizer.get_config()) if optimizer is not None else ("none", {})


def check_sgd_run(run: Any, target: float, adam_rate: float) -> Verdict:
    """Exercise 2: a run trained with ``SGD(momentum=0.9)`` at a constant rate the learner chose,
    reaching ``target``. ``adam_rate`` is the rate the lesson trained Adam with: copying it is the
    mistake the exercise is about."""
    if run is None:
        return not_attempted("sgd_run")
    if not isinstance(run, TrainingResult):
        return wrong(f"`sgd_run` should be what fit() returns, not a {type(run).__name__}.",
                     "sgd_run = fit('SGD', optimizer=keras.optimizers.SGD(my_sgd_lr, momentum=0.9))")
    name, config = _optimizer_config(run)
    if name != "SGD" or abs(float(config.get("momentum", 0.0)) - 0.9) > 1e-6:
        used = f"{name} with momentum {config.get('momentum', 0.0):g}" if name == "SGD" else name
        return wrong(f"`sgd_run` was trained with {used}: this exercise is about SGD with momentum 0.9.",
                     "fit('SGD', optimizer=keras.optimizers.SGD(my_sgd_lr, momentum=0.9))")
    rate = config.get("learning_rate")
    if not is_single_number(rate):
        return wrong("`sgd_run`'s learning rate is a schedule: choose one constant rate for this exercise.")
    rate, losses = float(rate), np.asarray(run.history.get("loss", [np.nan]), dtype=float)
    if run.val_accuracy >= target:
        return correct(f"Correct: SGD with momentum at {rate:.1e} ({rate / adam_rate:.0f} times Adam's "
                       f"{adam_rate:.1e}) reaches {run.val_accuracy:.3f} (target {target:.2f}). A learning rate "
                       "belongs to its optimizer: change the optimizer, and redo the range test.")
    stuck = not np.all(np.isfinite(losses)) or losses[0] > 2 * np.log(10) or losses[-1] > 0.98 * np.log(10)
    if stuck and rate > 3 * adam_rate:
        return wrong(f"At {rate:.1e} the run blew up or never left chance (training loss {losses[0]:.3g} in "
                     f"the first epoch, {losses[-1]:.3g} in the last; validation {run.val_accuracy:.3f}).",
                     "Too high: momentum 0.9 adds up about 1 / (1 - 0.9) = 10 past steps, so each step is about "
                     "ten times the rate times the gradient. Read the range test of this very optimizer "
                     "(section 3's sgd_test) and pick 3 to 10 times below its lowest point.")
    if rate <= 3 * adam_rate:
        return wrong(f"{rate:.1e} is Adam's range, and SGD at {rate:.1e} reaches only {run.val_accuracy:.3f} "
                     f"(target {target:.2f}): the loss fell from {losses[0]:.2f} to just {losses[-1]:.2f}.",
                     "Adam divides each step by the gradients' typical size; SGD does not, so its useful rates "
                     "lie elsewhere. Read the range test of this optimizer (section 3's sgd_test, or "
                     "lr_range_test(..., optimizer=keras.optimizers.SGD(momentum=0.9))).")
    return wrong(f"SGD with momentum at {rate:.1e} reaches {run.val_accuracy:.3f}, below the target {target:.2f} "
                 f"(training loss {losses[0]:.2f} -> {losses[-1]:.2f}).",
                 "Read the range test of SGD(momentum=0.9) (section 3's sgd_test): train 3 to 10 times below "
                 "its lowest point.")


def _rates(schedule: keras.optimizers.schedules.LearningRateSchedule, total_steps: int) -> np.ndarray:
    return np.array([float(schedule(step)) for step in range(total_steps)])


def _schedule_used(run: TrainingResult) -> keras.optimizers.schedules.LearningRateSchedule | None:
    """The learning-rate schedule the run's optimizer was built with, or None for a constant rate."""
    rate = _optimizer_config(run)[1].get("learning_rate")
    return keras.optimizers.schedules.deserialize(rate) if isinstance(rate, dict) else None


def check_step_schedule(schedule: Any, run: Any, target: float, total_steps: int) -> Verdict:
    """Exercise 3: a decaying Keras learning-rate schedule, and a run with it that reaches ``target``."""
    if schedule is None:
        return not_attempted("schedule")
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return wrong(f"`schedule` should be a Keras learning-rate schedule, not a {type(schedule).__name__}.",
                     "keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[...], values=[...])")
    rates = _rates(schedule, total_steps)
    first, last = rates[0], rates[-1]
    if not last < first:
        return wrong(f"The schedule starts at {first:.1e} and ends at {last:.1e}: it does not decay.",
                     "Put the boundary (in steps, not epochs) inside the run: 3 * STEPS_PER_EPOCH.")
    decays_at = int(np.argmax(rates < first))
    if decays_at < total_steps // 10:
        return wrong(f"The rate drops after {decays_at} steps of {total_steps}: before the first epoch is over.",
                     "Boundaries count steps (batches), not epochs: 3 epochs are 3 * STEPS_PER_EPOCH steps.")
    if run is None:
        return not_attempted("my_run")
    if not isinstance(run, TrainingResult):
        return wrong(f"`my_run` should be what train() returns, not a {type(run).__name__}.")
    used = _schedule_used(run)
    if used is None or not np.allclose(_rates(used, total_steps), rates, rtol=1e-5, atol=0):
        return wrong("`my_run` was not trained with your schedule: its optimizer's learning rate is "
                     + ("a constant." if used is None else "a different schedule."),
                     "Train it with fit('step schedule', optimizer=keras.optimizers.Adam(schedule)).")
    if run.val_accuracy < target:
        return wrong(f"Final validation accuracy {run.val_accuracy:.3f} is below the target {target:.2f}.",
                     f"Your schedule goes from {first:.1e} to {last:.1e}. Start near the range test's "
                     "suggestion (or up to 3x above it) and decay by 10x for the last epochs.")
    return correct(f"Correct: the rate goes from {first:.1e} down to {last:.1e}, and the run ends at "
                   f"{run.val_accuracy:.3f} validation accuracy (target {target:.2f}).")
