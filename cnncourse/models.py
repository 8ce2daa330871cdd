"""The small reference CNN every lesson starts from.

It is deliberately plain: three convolution blocks and a two-layer classifier, with switches for
the ingredients the lessons add or remove (input scaling, augmentation, dropout, batch
normalization, width). Input scaling lives *inside* the model, so the model takes raw
``uint8`` images and nobody can forget to scale them at prediction time.
"""
import keras
from keras import layers


def reference_cnn(*, width=32, dropout=0.0, batch_norm=False, scale_inputs=True, preprocessing=(),
                  augmentation=(), dense_units=128, num_classes=10, input_shape=(32, 32, 3), name="reference_cnn"):
    """Build (not compile) the reference CNN.

    width:         filters in the first block; the next blocks use 2x and 4x as many.
    dense_units:   size of the hidden layer of the classifier.
    dropout:       dropout rate before the classifier (0 = none).
    batch_norm:    add BatchNormalization after every convolution.
    scale_inputs:  start with ``Rescaling(1/255)`` so the model takes raw 0-255 pixels.
    preprocessing: layers applied to the input after that (e.g. an adapted ``Normalization``).
    augmentation:  Keras preprocessing layers (e.g. ``RandomFlip``) applied after scaling;
                   they are active only during training.
    """
    if width < 1 or not 0 <= dropout < 1:
        raise ValueError(f"need width >= 1 and 0 <= dropout < 1, got width={width}, dropout={dropout}.")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if scale_inputs:
        model.add(layers.Rescaling(1 / 255, name="scale_0_1"))
    for layer in (*preprocessing, *augmentation):
        model.add(layer)
    for block, filters in enumerate((width, 2 * width, 4 * width), start=1):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"conv{block}"))
        if batch_norm:
            model.add(layers.BatchNormalization(name=f"bn{block}"))
        model.add(layers.ReLU(name=f"relu{block}"))
        model.add(layers.MaxPooling2D(name=f"pool{block}"))
    model.add(layers.Flatten(name="flatten"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense"))
    model.add(layers.Dense(num_classes, activation="softmax", name="class_probabilities"))
    return model
