"""Diagnose the first ``model.fit`` of a script or a notebook cell, without rewriting it.

A learner's training script calls ``model.fit(x, y, ...)`` somewhere in the middle. Run it with::

    cnncourse-diagnose train.py                  # diagnose the first fit, print the report, stop
    cnncourse-diagnose --then monitor train.py   # ... then train with cnncourse.diagnose.Monitor watching
    cnncourse-diagnose --then train train.py 20  # ... then train as usual (20 is the script's own argument)

The first ``fit`` call is handed, with exactly its arguments, to :func:`cnncourse.diagnose.diagnose`;
later ``fit`` calls run as usual. In Python or a notebook::

    with diagnose_first_fit(then="monitor") as first:
        history = model.fit(x, y, epochs=10, validation_split=0.2)
    first.report.codes

or, in a notebook, ``%load_ext cnncourse.first_fit`` once, then a cell that starts with
``%%diagnose_first_fit --then stop`` (or ``monitor``, ``train``).
"""
from __future__ import annotations

import argparse
import inspect
import itertools
import runpy
import shlex
import sys
import types
from pathlib import Path

import keras
import numpy as np

from cnncourse.diagnose import Monitor, diagnose

THEN = ("stop", "monitor", "train")
PROBE_IMAGES = 256  # validation images Monitor checks its predictions on
_MISSING = object()


class StopAfterDiagnosis(Exception):
    """Raised by the first ``fit`` with ``then="stop"``; :class:`diagnose_first_fit` swallows it."""


def _replay(batches):
    yield from batches  # fit accepts a one-shot iterator only as a generator


def _is_validation_arrays(data) -> bool:
    return (isinstance(data, (tuple, list)) and len(data) in (2, 3)
            and all(hasattr(part, "shape") and hasattr(part, "__array__") for part in data[:2]))


def _monitor_for(arguments: dict) -> Monitor:
    """A Monitor, with up to PROBE_IMAGES of the validation images (validation_data or validation_split) as probe."""
    x, y, split, validation = (arguments.get(name) for name in ("x", "y", "validation_split", "validation_data"))
    if validation is not None and not isinstance(validation, (tuple, list, types.GeneratorType)):
        try:  # a tf.data.Dataset or PyDataset of (images, labels) batches: Monitor reads up to 256 images
            return Monitor(validation)
        except (ValueError, TypeError):
            return Monitor()
    if _is_validation_arrays(validation):
        x_probe, y_probe = validation[0], validation[1]
    elif split and _is_validation_arrays((x, y)):
        start = int(len(x) * (1 - split))  # fit takes the last images for validation
        x_probe, y_probe = x[start:], y[start:]
    else:
        return Monitor()
    try:
        return Monitor(np.asarray(x_probe[:PROBE_IMAGES]), np.asarray(y_probe[:PROBE_IMAGES]))
    except (ValueError, TypeError):  # labels Monitor cannot read: watch the logs only
        return Monitor()


class diagnose_first_fit:
    """Context manager: the first ``keras.Model.fit`` called inside is diagnosed before it trains.

    ``then`` says what that first ``fit`` does after the report is printed: ``"stop"`` trains nothing and
    ends the ``with`` block there, quietly; ``"monitor"`` trains with a :class:`~cnncourse.diagnose.Monitor`
    added to the callbacks; ``"train"`` trains as asked. Afterwards ``.report`` is the report (``None`` if
    ``fit`` was never called or ``diagnose`` refused the input, then ``.error`` says why), ``.called`` whether
    ``fit`` was called, ``.monitor`` the Monitor that watched. ``keras.Model.fit`` is restored on exit.
    """

    def __init__(self, *, then: str = "stop", progress: bool = True):
        if then not in THEN:
            raise ValueError(f"then must be one of {', '.join(THEN)}; got {then!r}.")
        self.then, self.progress = then, progress
        self.report = self.error = self.monitor = None
        self.called = False

    def __enter__(self) -> diagnose_first_fit:
        self._saved = keras.Model.__dict__.get("fit", _MISSING)
        real_fit, context = keras.Model.fit, self

        def fit(model, *args, **kwargs):
            if context.called:
                return real_fit(model, *args, **kwargs)
            context.called = True
            return context._first_fit(real_fit, model, args, kwargs)

        keras.Model.fit = fit
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if self._saved is _MISSING:
            del keras.Model.fit
        else:
            keras.Model.fit = self._saved
        return kind is not None and issubclass(kind, StopAfterDiagnosis)

    def _first_fit(self, real_fit, model, args, kwargs):
        names = list(inspect.signature(real_fit).parameters)[1:]  # x, y, batch_size, epochs, ...
        arguments = {**dict(zip(names, args)), **kwargs}  # the learner's arguments, by name
        args, kwargs, probes = list(args), dict(kwargs), []

        def replace(name, value):  # in what fit gets, where the learner put it
            if name in names and names.index(name) < len(args):
                args[names.index(name)] = value
            else:
                kwargs[name] = value

        for name in ("x", "validation_data"):  # diagnose reads a generator's first batches: fit gets them again
            if isinstance(arguments.get(name), types.GeneratorType):
                for_diagnose, for_fit = (_replay(branch) for branch in itertools.tee(arguments[name]))
                arguments[name] = for_diagnose
                probes.append(for_diagnose)
                replace(name, for_fit)
        try:
            self.report = diagnose(model, progress=self.progress, **arguments)
        except Exception as error:  # a refused input must not keep the learner's fit from running
            self.error = error
            print(f"cnncourse: could not diagnose this fit: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            print(f"cnncourse: what diagnose found before the first fit:\n{self.report}", flush=True)
        finally:
            for probe in probes:
                probe.close()  # drop its tee branch, or the tee would keep every batch fit reads
        if self.then == "stop":
            raise StopAfterDiagnosis("stopped after diagnosing the first fit (then='stop')")
        if self.then == "monitor":
            self.monitor = _monitor_for(arguments)
            replace("callbacks", [*(arguments.get("callbacks") or []), self.monitor])
        return real_fit(model, *args, **kwargs)


def _then_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--then", choices=THEN, default="stop",
                        help="after the report: 'stop' (default) trains nothing; 'monitor' trains with "
                             "cnncourse's Monitor warning during training; 'train' trains as the script says.")


def load_ipython_extension(ipython) -> None:
    """``%load_ext cnncourse.first_fit`` registers the cell magic ``%%diagnose_first_fit [--then ...]``."""
    parser = argparse.ArgumentParser(prog="%%diagnose_first_fit", add_help=False)
    _then_option(parser)

    def diagnose_first_fit_magic(line: str, cell: str) -> None:
        then = parser.parse_args(shlex.split(line)).then
        saved = ipython.custom_exceptions, ipython.CustomTB
        ipython.set_custom_exc((StopAfterDiagnosis,), lambda *args, **kwargs: None)  # stop the cell quietly
        try:
            with diagnose_first_fit(then=then):
                ipython.run_cell(cell)  # the learner's own errors show as in any cell
        finally:
            ipython.custom_exceptions, ipython.CustomTB = saved

    ipython.register_magic_function(diagnose_first_fit_magic, "cell", "diagnose_first_fit")


def main(argv: list[str] | None = None) -> int:
    """``cnncourse-diagnose [--then stop|monitor|train] script.py [script arguments...]``."""
    parser = argparse.ArgumentParser(
        prog="cnncourse-diagnose",
        description="Run your training script, but check the first model.fit(...) it calls before it trains: "
                    "cnncourse's diagnose looks at your compiled model and your data, with exactly the arguments "
                    "you gave fit, and prints what would keep the model from learning, most likely cause first, "
                    "with the lesson to read. Your script stays as it is.",
        epilog="Example: cnncourse-diagnose --then monitor train.py --epochs 5  (options for cnncourse-diagnose go "
               "before the script; everything after it is passed to the script in sys.argv).")
    _then_option(parser)
    parser.add_argument("script", help="your Python script that builds, compiles and fits a Keras model")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for your script")
    options = parser.parse_args(argv)
    script = Path(options.script)
    if not script.is_file():
        print(f"cnncourse-diagnose: there is no script {script}: nothing to diagnose.", file=sys.stderr)
        return 2
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [str(script), *options.args]
    sys.path.insert(0, str(script.resolve().parent))  # as `python script.py` does: its own modules import
    try:
        with diagnose_first_fit(then=options.then) as first:
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as end:
                if end.code not in (None, 0):
                    raise
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if not first.called:
        print(f"cnncourse-diagnose: the script finished without calling fit: nothing to diagnose ({script}).",
              file=sys.stderr)
        return 2
    return 0 if first.report is not None else 2


if __name__ == "__main__":
    sys.exit(main())
