"""How much does ``cnncourse.diagnose.Monitor`` slow a normal ``fit``? (Goal: at most 10 % of epoch time.)

Trains the reference CNN on 5,000 CIFAR-10 images, with and without a Monitor that has probe images
and labels (so every check runs), alternating the order, and prints the seconds per epoch of each. On a
shared 2-core machine two identical runs can differ by 10 % or more, so it also times the Monitor's own
hooks inside the monitored run: that share of the run's time is the overhead, without the noise.

Usage: python benchmarks/monitor_overhead.py [--epochs 5] [--repeats 2]
"""
import argparse
import time

import keras

from cnncourse.data import load_cifar10
from cnncourse.diagnose import Monitor
from cnncourse.models import reference_cnn
from cnncourse.subsets import train_val_split


class TimedMonitor(Monitor):
    """A Monitor that adds up the seconds spent in its own hooks."""

    seconds = 0.0

    def on_train_begin(self, logs=None):
        start = time.perf_counter()
        super().on_train_begin(logs)
        self.seconds += time.perf_counter() - start

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        self.seconds += time.perf_counter() - start


def seconds_per_epoch(x, y, x_val, y_val, epochs, callbacks):
    keras.utils.set_random_seed(0)
    model = reference_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:64], y[:64], epochs=1, verbose=0)  # compile the training step outside the timing
    start = time.perf_counter()
    model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=64, verbose=0, callbacks=callbacks)
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_cifar10()
    (x, y), (x_val, y_val) = train_val_split(data.x_train, data.y_train, val_size=1000, train_per_class=500, seed=0)
    plain, monitored, own = [], [], []
    for repeat in range(args.repeats):
        monitor = TimedMonitor(x_val[:256], y_val[:256], verbose=False)
        runs = [("plain", plain, []), ("monitored", monitored, [monitor])]
        for name, times, callbacks in runs if repeat % 2 == 0 else runs[::-1]:
            times.append(seconds_per_epoch(x, y, x_val, y_val, args.epochs, callbacks))
            print(f"repeat {repeat + 1}: {name:9s} {times[-1]:.2f} s per epoch", flush=True)
        own.append(monitor.seconds / (monitored[-1] * args.epochs))
        print(f"repeat {repeat + 1}: the Monitor's own hooks took {own[-1]:.1%} of the monitored run", flush=True)
    print(f"\nbest of {args.repeats}: plain {min(plain):.2f} s, with Monitor {min(monitored):.2f} s per epoch "
          f"({min(monitored) / min(plain) - 1:+.1%}); the Monitor's own hooks: {min(own):.1%} to {max(own):.1%} of "
          f"the monitored run's time (goal: at most 10 %)")


if __name__ == "__main__":
    main()
