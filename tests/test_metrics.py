import numpy as np
import pytest

from cnncourse.metrics import imbalance_report, per_class_recall, prior_correction, recall_uncertainty, wilson_interval


def test_per_class_recall_counts_unseen_classes_as_zero():
    np.testing.assert_allclose(per_class_recall([0, 0, 1], [0, 1, 1], num_classes=3), [0.5, 1.0, 0.0])


def test_imbalance_report_exposes_a_majority_class_predictor():
    # 90 images of class 0, 10 of class 1: always answering 0 is 90 % "accurate".
    y_true = np.array([0] * 90 + [1] * 10)
    always_zero = np.zeros(100, dtype=int)
    perfect = y_true.copy()
    report = imbalance_report(y_true, {"always 0": always_zero, "perfect": perfect}, rare_classes=[1],
                              num_classes=2)
    assert report.loc["always 0", "accuracy"] == 0.9
    assert report.loc["always 0", "balanced accuracy"] == 0.5
    assert report.loc["always 0", "rare-class recall"] == 0.0
    assert report.loc["always 0", "macro F1"] == pytest.approx((2 * 0.9 / 1.9) / 2, abs=1e-3)
    assert (report.loc["perfect"] == 1.0).all()
    assert list(report.index) == ["always 0", "perfect"]


@pytest.mark.parametrize("rare, message", [([], "rare_classes"), ([10], "rare_classes")])
def test_imbalance_report_rejects_bad_rare_classes(rare, message):
    with pytest.raises(ValueError, match=message):
        imbalance_report([0, 1], {"m": [0, 1]}, rare_classes=rare)


def test_imbalance_report_rejects_mismatched_or_unnamed_predictions():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        imbalance_report([0, 1], {"m": [0, 1, 1]}, rare_classes=[1])
    with pytest.raises(TypeError, match="map a name"):
        imbalance_report([0, 1], [0, 1], rare_classes=[1])


def test_wilson_interval_matches_known_values_and_stays_in_0_1():
    low, high = wilson_interval([0, 2, 50, 0], [2, 2, 100, 0])
    np.testing.assert_allclose(low, [0.0, 0.342, 0.404, 0.0], atol=1e-3)
    np.testing.assert_allclose(high, [0.658, 1.0, 0.596, 1.0], atol=1e-3)  # n = 0: nothing known
    low, high = wilson_interval(30, 100)
    assert low < 0.3 < high and high - low == pytest.approx(0.18, abs=0.01)
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(3, 2)


def test_recall_uncertainty_counts_images_steps_and_intervals():
    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 0, 1])
    table = recall_uncertainty(y_true, y_pred, ["cat", "dog"])
    assert table["images"].tolist() == [4, 2]
    assert table["recall"].tolist() == [0.75, 0.5]
    assert table["step 1/n"].tolist() == [0.25, 0.5]
    assert (table["low"] <= table["recall"]).all() and (table["recall"] <= table["high"]).all()
    assert list(table.index) == ["cat", "dog"]
    with pytest.raises(ValueError, match="5 predictions for 6 labels"):
        recall_uncertainty(y_true, y_pred[:5], ["cat", "dog"])


def test_prior_correction_divides_by_the_prior_and_renormalizes():
    probabilities = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    priors = np.array([0.6, 0.3, 0.1])
    corrected = prior_correction(probabilities, priors)
    expected = probabilities / priors
    np.testing.assert_allclose(corrected, expected / expected.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(corrected.sum(axis=1), 1)
    np.testing.assert_allclose(prior_correction(probabilities, priors, strength=0), probabilities)
    # Only the priors' ratios matter (counts work as well as shares), and it equals logit adjustment.
    np.testing.assert_allclose(prior_correction(probabilities, 100 * priors), corrected)
    logits = np.log(probabilities) - 0.5 * np.log(priors)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(prior_correction(probabilities, priors, strength=0.5), softmax)
    # A stronger correction moves the decision towards the rare class.
    assert prior_correction([[0.8, 0.2]], [0.9, 0.1]).argmax() == 1


@pytest.mark.parametrize("priors, strength, says", [
    ([0.5, 0.5], 1.0, "one prior per class"),
    ([0.7, 0.3, 0.0], 1.0, "must be > 0"),
    ([0.6, 0.3, 0.1], float("nan"), "finite"),
])
def test_prior_correction_rejects_bad_input(priors, strength, says):
    with pytest.raises(ValueError, match=says):
        prior_correction(np.full((2, 3), 1 / 3), priors, strength)
