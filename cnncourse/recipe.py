"""Train well on a fixed budget: the course's recipe, the TensorFlow tutorial's, and budgets for both.

- :func:`course_cnn` is the course's recipe for a small CNN: inputs scaled inside the model, a
  random left-right flip, batch normalization after every convolution, ReLU with He initialization,
  dropout before the classifier. Trained with Adam at a peak rate of 5e-3, batch 64, under
  :class:`TimeBudget`.
- :func:`tutorial_cnn` is the CNN of TensorFlow's "Convolutional Neural Network" tutorial as
  published (three convolutions, logits out), with a ``Rescaling`` layer in place of its
  ``/ 255.0`` on the whole data set.
- :func:`training_flops` counts what one training image costs a model, so that two recipes can be given the
  same compute (:func:`epochs_within`) whatever else runs on the machine; :func:`one_cycle` is the recipe's
  learning-rate schedule over a number of steps (a short warm-up, then a cosine down to zero).
- :class:`TimeBudget` stops ``fit`` when its training time is spent and, given a peak learning rate,
  sets the rate from the share of the time used (a short warm-up, then a cosine down to zero), so a
  schedule fits a budget in seconds rather than a number of epochs.
"""
from __future__ import annotations

import math
import time

import keras
from keras import layers
from tqdm.auto import tqdm


def course_cnn(num_classes: int = 10, width: int = 32, dropout: float = 0.3) -> keras.Model:
    """Build (not compile) the course's fast CNN: softmax output, for ``sparse_categorical_crossentropy``."""
    model = keras.Sequential(name="course_recipe")
    model.add(keras.Input(shape=(32, 32, 3)))
    model.add(layers.Rescaling(1 / 255))
    model.add(layers.RandomFlip("horizontal"))
    for filters in (width, 2 * width, 4 * width):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal"))
        model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.ReLU())
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dropout(dropout))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


def tutorial_cnn(num_classes: int = 10) -> keras.Model:
    """Build (not compile) the TensorFlow CNN tutorial's model: logits out, for a loss with ``from_logits=True``."""
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)), layers.Rescaling(1 / 255),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(num_classes),
    ], name="tensorflow_tutorial")


def training_flops(model: keras.Model) -> int:
    """Floating-point operations to train ``model`` on one image: three times those of its forward pass (the
    forward pass, then the gradients of the activations and of the weights), counting its convolutions and
    dense layers, which cost far more than the rest (pooling, normalization, activations)."""
    forward = 0
    for layer in _layers(model):
        if isinstance(layer, (layers.Conv2D, layers.Dense)):
            kernel = layer.kernel.shape  # (kh, kw, in, out) or (in, out)
            positions = math.prod(layer.output.shape[1:-1])  # output pixels (1 for a Dense on a vector)
            forward += 2 * positions * math.prod(kernel)
    if forward == 0:
        raise ValueError(f"{model.name} has no Conv2D or Dense layer to count.")
    return 3 * forward


def _layers(model):
    for layer in model.layers:
        yield from _layers(layer) if hasattr(layer, "layers") else (layer,)


def epochs_within(budget: float, model: keras.Model, images: int) -> int:
    """How many epochs over ``images`` training images ``model`` runs within ``budget`` floating-point
    operations (at least one)."""
    return max(1, int(budget // (training_flops(model) * images)))


def one_cycle(peak: float, steps: int, warmup: float = 0.1) -> keras.optimizers.schedules.LearningRateSchedule:
    """The recipe's learning rate over ``steps`` training steps: a linear warm-up to ``peak`` over the first
    ``warmup`` of them, then a cosine down to zero at the last."""
    if peak <= 0 or steps < 1 or not 0 <= warmup < 1:
        raise ValueError(f"need peak > 0, steps >= 1 and 0 <= warmup < 1, got {peak}, {steps}, {warmup}.")
    warmup_steps = int(warmup * steps)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=max(1, steps - warmup_steps),
                                                  warmup_target=peak, warmup_steps=warmup_steps)


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of training (validation not counted) are spent.

    With ``peak_learning_rate``, also set the optimizer's learning rate before every batch from the
    share of the budget used: a linear warm-up over the first ``warmup`` of it, then a cosine down to
    zero at the end. With ``progress`` (a name), a progress bar counts the seconds. After training,
    ``clock.spent`` is the training time used and ``clock.seconds`` lists, per epoch, the training time
    spent by that epoch's end (to plot accuracy against time).
    """

    def __init__(self, seconds: float, peak_learning_rate: float | None = None, warmup: float = 0.1,
                 progress: str | None = None):
        super().__init__()
        if seconds <= 0 or not 0 <= warmup < 1:
            raise ValueError(f"need seconds > 0 and 0 <= warmup < 1, got seconds={seconds}, warmup={warmup}.")
        if peak_learning_rate is not None and peak_learning_rate <= 0:
            raise ValueError(f"peak_learning_rate must be positive, got {peak_learning_rate}.")
        self.budget, self.peak, self.warmup = seconds, peak_learning_rate, warmup
        self.spent, self.seconds, self.progress, self._bar = 0.0, [], progress, None

    def learning_rate(self, share: float) -> float:
        """The learning rate after ``share`` (0 to 1) of the budget."""
        if share < self.warmup:
            return self.peak * share / self.warmup
        return self.peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (share - self.warmup) / (1 - self.warmup))))

    def on_train_begin(self, logs=None):
        self.spent, self.seconds = 0.0, []
        if self.progress:
            self._bar = tqdm(total=round(self.budget), desc=self.progress, unit="s",
                             bar_format="{l_bar}{bar}| {n:.0f}/{total} s of training")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start, self._epoch_spent = time.perf_counter(), 0.0

    def on_train_batch_begin(self, batch, logs=None):
        if self.peak is not None:
            share = (self.spent + time.perf_counter() - self._epoch_start) / self.budget
            self.model.optimizer.learning_rate = self.learning_rate(share)

    def on_train_batch_end(self, batch, logs=None):
        self._epoch_spent = time.perf_counter() - self._epoch_start
        if self.spent + self._epoch_spent >= self.budget:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.spent += self._epoch_spent
        self.seconds.append(self.spent)
        if self._bar is not None:
            self._bar.set_postfix({"val_accuracy": f"{(logs or {}).get('val_accuracy', float('nan')):.3f}"},
                                  refresh=False)
            self._bar.update(min(self.spent, self.budget) - self._bar.n)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
