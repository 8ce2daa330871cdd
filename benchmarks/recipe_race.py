"""The capstone's race: the course's recipe against the TensorFlow CNN tutorial's, same time budget.

Both train on the same 10,000 CIFAR-10 training images (1,000 per class) and are validated on 5,000
others split from the training set, with a budget of 60 seconds of training each (validation not
counted). The tutorial's recipe runs as published (Adam 1e-3, batch 32, 10 epochs, logits out),
stopped early only if the budget runs out; the course's (``cnncourse.recipe``) uses the whole budget,
its learning rate set by ``TimeBudget`` (warm-up, then a cosine to zero). Run it on an otherwise idle
machine: the budget is wall-clock time. Goal: the course's recipe at least 10 points ahead.

Usage: python benchmarks/recipe_race.py [--seeds 0 1 2] [--seconds 60]
"""
import argparse

import keras

from cnncourse.data import load_cifar10
from cnncourse.recipe import TimeBudget, course_cnn, tutorial_cnn
from cnncourse.subsets import train_val_split

RECIPES = {  # name -> (builder, loss, optimizer, batch size, epochs, peak learning rate for TimeBudget)
    "TensorFlow tutorial": (tutorial_cnn, lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                            lambda: keras.optimizers.Adam(1e-3), 32, 10, None),
    "course recipe": (course_cnn, lambda: "sparse_categorical_crossentropy", lambda: keras.optimizers.Adam(),
                      64, 1000, 5e-3),
}


def race(x, y, validation_data, seconds, seed):
    results = {}
    for name, (build, loss, optimizer, batch_size, epochs, peak) in RECIPES.items():
        keras.utils.set_random_seed(seed)
        model = build()
        model.compile(optimizer=optimizer(), loss=loss(), metrics=["accuracy"])
        clock = TimeBudget(seconds, peak)
        history = model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size,
                            verbose=0, callbacks=[clock], validation_batch_size=500).history
        results[name] = {"epochs": len(history["loss"]), "seconds": clock.spent,
                         "last": history["val_accuracy"][-1], "best": max(history["val_accuracy"])}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    data = load_cifar10()
    print("| seed | recipe | epochs | training s | last val | best val |\n|---|---|---|---|---|---|")
    gaps = []
    for seed in args.seeds:
        (x, y), validation_data = train_val_split(data.x_train, data.y_train, val_size=5000, train_per_class=1000,
                                                  seed=seed)
        results = race(x, y, validation_data, args.seconds, seed)
        for name, r in results.items():
            print(f"| {seed} | {name} | {r['epochs']} | {r['seconds']:.0f} | {r['last']:.3f} | {r['best']:.3f} |",
                  flush=True)
        gaps.append(results["course recipe"]["last"] - results["TensorFlow tutorial"]["last"])
    print(f"\ncourse recipe ahead by {min(gaps):+.3f} to {max(gaps):+.3f} (last epoch against last epoch; "
          "goal: at least +0.10)")


if __name__ == "__main__":
    main()
