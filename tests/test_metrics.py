import numpy as np
import pytest

from cnncourse.metrics import imbalance_report, per_class_recall


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
