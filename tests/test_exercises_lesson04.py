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


def test_step_schedule():
    decaying = keras.optimizers.schedules.PiecewiseConstantDecay([60], [1e-3, 1e-4])
    assert lesson04.check_step_schedule(decaying, result([2.0], 0.45), target=0.4, total_steps=100).passed
    low = lesson04.check_step_schedule(decaying, result([2.0], 0.35), target=0.4, total_steps=100)
    assert not low.passed and "below the target" in low.message
    late = keras.optimizers.schedules.PiecewiseConstantDecay([600], [1e-3, 1e-4])  # boundary after the run
    assert "does not decay" in lesson04.check_step_schedule(late, None, target=0.4, total_steps=100).message
    assert "schedule" in lesson04.check_step_schedule(1e-3, None, target=0.4, total_steps=100).message
    assert lesson04.check_step_schedule(decaying, None, target=0.4, total_steps=100).status == "not attempted"
    assert lesson04.check_step_schedule(None, None, target=0.4, total_steps=100).status == "not attempted"
