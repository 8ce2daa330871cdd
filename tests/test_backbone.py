"""cnncourse.backbone: trained once per recipe and cached, loaded back as it was saved, with its preprocessing."""
import keras
import numpy as np
import pytest

from cnncourse import backbone as bb
from cnncourse.data import Cifar10

TINY = {**bb.RECIPE, "widths": [4, 8, 8], "epochs": 2, "warmup_epochs": 1}


@pytest.fixture(scope="module")
def fake_cifar(colour_images):
    x, y = colour_images(400, classes=10, seed=7)
    return Cifar10(x, y, x[:100], y[:100])


@pytest.fixture(scope="module")
def tiny(fake_cifar, tmp_path_factory):
    cache = tmp_path_factory.mktemp("backbones")
    return bb.load_backbone(data=fake_cifar, cache_dir=cache, recipe=TINY, progress=False), cache


def test_the_architecture_takes_standardized_images_to_features():
    model = bb.build_backbone([4, 8, 16])
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 16)
    assert [layer.name for layer in model.layers if "block3" in layer.name] == [
        "block3_conv", "block3_bn", "block3_relu", "block3_pool"]


def test_trained_once_then_loaded_from_the_cache(tiny, fake_cifar):
    backbone, cache = tiny
    assert bb.is_cached(cache, TINY) and not bb.is_cached(cache, {**TINY, "epochs": 3}), "keyed by the recipe"
    first_five = fake_cifar.x_train[fake_cifar.y_train < 5].reshape(-1, 3)
    assert np.allclose(backbone.mean, first_five.mean(axis=0)) and np.allclose(backbone.std, first_five.std(axis=0))
    assert 0.0 <= backbone.accuracy <= 1.0
    saved = backbone.path.stat().st_mtime_ns
    again = bb.load_backbone(data=None, cache_dir=cache, recipe=TINY, progress=False)  # no data needed, no training
    assert again.path.stat().st_mtime_ns == saved
    probe = bb.preprocess_input(fake_cifar.x_test[:8], again)
    assert np.allclose(again.model.predict(probe, verbose=0), backbone.model.predict(probe, verbose=0), atol=1e-5)


def test_a_copy_is_independent_of_the_pretrained_model(tiny):
    backbone, _ = tiny
    copy = backbone.copy()
    copy.trainable = False
    copy.get_layer("block1_conv").kernel.assign(np.zeros(copy.get_layer("block1_conv").kernel.shape))
    assert backbone.model.trainable and np.any(backbone.model.get_layer("block1_conv").kernel.numpy() != 0)


def test_preprocessing_as_a_function_and_as_a_layer_agree(tiny, fake_cifar):
    backbone, _ = tiny
    images = fake_cifar.x_test[:16]
    standardized = bb.preprocess_input(images, backbone)
    layer_output = keras.ops.convert_to_numpy(bb.preprocessing_layer(backbone)(images.astype("float32")))
    assert np.allclose(standardized, layer_output, atol=1e-4)
    assert standardized.dtype == np.float32
    with pytest.raises(ValueError, match="3 colour channels"):
        bb.preprocess_input(images[..., 0], backbone)
