"""Run a notebook cell by cell in a fresh kernel of this very Python.

One runner for the grader (errors allowed, time limits, interrupting a cell that overruns) and the
benchmarks (stop at the first error, measure the kernel process). The kernel is started with the
interpreter running this code, like nbval's ``--nbval-current-env``, so the installed ``cnncourse``
and the environment (``CNNCOURSE_DATA_DIR``, ``KERAS_BACKEND``) reach it whatever kernelspecs the
machine has.
"""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import Type

from cnncourse.data import DATA_DIR_ENV

TIMEOUT_ERROR = {"ename": "Timeout", "evalue": "the cell did not finish in time and was interrupted"}


class _CurrentEnvironment(KernelSpecManager):
    def get_kernel_spec(self, kernel_name):
        import ipykernel.kernelspec

        return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                      **ipykernel.kernelspec.get_kernel_dict())


POLL_SLICE_S = 1.0


class SlicedPollChannel(AsyncZMQSocketChannel):
    """A channel that waits for a message in slices of ``POLL_SLICE_S`` seconds, however long the timeout.

    pyzmq's asyncio poll is woken through an edge-triggered file descriptor and can miss a message that has
    already arrived (seen after cells that show widgets; nbclient issue #312). It then finds the message only
    when its timeout ends: a lesson's run, or a learner's grading, sat idle for a cell's whole time limit (900 s
    in CI) before going on. Each slice ends in a level-triggered ``zmq_poll``, which sees the message."""

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE_S if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await super().get_msg(timeout=min(POLL_SLICE_S, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedPollClient(AsyncKernelClient):
    """A kernel client whose shell and IOPub channels are :class:`SlicedPollChannel` (nbclient waits on both)."""

    shell_channel_class = Type(SlicedPollChannel)
    iopub_channel_class = Type(SlicedPollChannel)


def current_env_kernel_manager() -> AsyncKernelManager:
    """A kernel manager whose ``python3`` kernel runs ``sys.executable``, talked to by a :class:`SlicedPollClient`."""
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=_CurrentEnvironment(),
                              client_class=f"{__name__}.SlicedPollClient")


class NotebookRun:
    """``nb`` (modified in place: outputs are written into its cells) and the kernel that runs it.

    ``allow_errors``: a failing cell records its error and returns instead of raising.
    ``interrupt_on_timeout``: a cell over its time limit is interrupted and recorded as a
    ``Timeout`` error (``TIMEOUT_ERROR``) instead of raising.
    """

    def __init__(self, nb: nbformat.NotebookNode, *, cwd: str | Path, allow_errors: bool = False,
                 interrupt_on_timeout: bool = False, startup_timeout: int = 120):
        self.replies: dict[int, dict] = {}  # cell index -> content of its execute_reply
        self.client = NotebookClient(
            nb, km=current_env_kernel_manager(), allow_errors=allow_errors,
            interrupt_on_timeout=interrupt_on_timeout, error_on_timeout=TIMEOUT_ERROR,
            startup_timeout=startup_timeout, resources={"metadata": {"path": str(cwd)}},
            on_cell_executed=self._record)

    def _record(self, cell, cell_index, execute_reply, **_):
        if execute_reply is not None:
            self.replies[cell_index] = execute_reply.get("content", {})

    @property
    def nb(self) -> nbformat.NotebookNode:
        return self.client.nb

    @contextmanager
    def kernel(self, env: Mapping[str, str] | None = None, quiet: bool = False) -> Iterator[NotebookRun]:
        """Start the kernel (with ``env`` instead of this process's environment, if given; its own
        output to the terminal silenced if ``quiet``) and shut it down afterwards.

        The kernel starts in ``cwd``, so a relative ``CNNCOURSE_DATA_DIR`` is made absolute first."""
        env = dict(os.environ if env is None else env)
        if env.get(DATA_DIR_ENV):
            env[DATA_DIR_ENV] = os.path.abspath(env[DATA_DIR_ENV])
        options = {"env": env}
        if quiet:
            options.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with self.client.setup_kernel(cleanup_kc=True, **options):
            yield self

    @property
    def pid(self) -> int:
        """The kernel's process id (while the kernel runs)."""
        return self.client.km.provisioner.pid

    def run_cell(self, index: int, timeout: float | None = None) -> dict:
        """Execute cell ``index`` with a time limit in seconds (None: no limit) and return the
        content of its execute reply (``status``, and ``ename``/``evalue`` for an error).

        Raises nbclient's ``CellExecutionError`` (unless ``allow_errors``), ``CellTimeoutError``
        (unless ``interrupt_on_timeout``) or ``DeadKernelError``."""
        self.client.timeout = None if timeout is None else max(1, int(timeout))
        cell = self.nb.cells[index]
        self.client.execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)
        return self.replies.get(index, {})

    def run_all(self, timeout: float | None = None,
                after_each: Callable[[int, nbformat.NotebookNode], None] | None = None) -> None:
        """Execute every code cell in order, each with ``timeout``; raises as :meth:`run_cell` does.
        ``after_each(index, cell)`` is called after each code cell (e.g. to measure it)."""
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type == "code":
                self.run_cell(index, timeout)
                if after_each is not None:
                    after_each(index, cell)


def error_summary(error: Exception) -> str:
    """One line saying why a run stopped: the cell's error name and message, else the exception."""
    name, value = getattr(error, "ename", None), getattr(error, "evalue", None)
    text = f"{name}: {value}" if name else f"{type(error).__name__}: {error}"
    return (text.strip().splitlines() or [type(error).__name__])[0]
