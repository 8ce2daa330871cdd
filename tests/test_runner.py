"""The notebook runner behind the site, the grader and the benchmarks: it must not sit idle on a message that
has arrived (a lesson once waited a cell's whole 900 s time limit in CI for a reply that was already there)."""
import asyncio
import time
from queue import Empty

import nbformat
import pytest

from cnncourse.authoring import runner
from cnncourse.authoring.runner import NotebookRun, SlicedPollChannel


class _Socket:
    """A socket as pyzmq's asyncio poll sees it after a missed wake-up: its poll returns only when its timeout
    ends, and then reports whether a message is there (``ready``). ``None`` waits for ever."""

    def __init__(self, ready: bool):
        self.ready, self.polls = ready, []

    async def poll(self, timeout_ms=None):
        self.polls.append(timeout_ms)
        if timeout_ms is None:
            await asyncio.Event().wait()
        await asyncio.sleep(timeout_ms / 1000)
        return int(self.ready)


class _Channel(SlicedPollChannel):
    def __init__(self, socket):  # no session or real socket: only get_msg's waiting is under test
        self.socket = socket

    async def _recv(self, **_):
        return {"msg_type": "execute_reply"}


def _get(channel, timeout):
    """What ``get_msg(timeout)`` returned (``Empty`` if it raised that) and how long it took; a wait of over 10 s
    fails the test instead of hanging it."""
    start = time.monotonic()
    try:
        return asyncio.run(asyncio.wait_for(channel.get_msg(timeout=timeout), 10)), time.monotonic() - start
    except Empty:
        return Empty, time.monotonic() - start


@pytest.mark.parametrize("timeout", [600, None])
def test_a_message_whose_wake_up_was_missed_is_found_within_a_slice(monkeypatch, timeout):
    monkeypatch.setattr(runner, "POLL_SLICE_S", 0.2)
    message, seconds = _get(_Channel(_Socket(ready=True)), timeout)
    assert message == {"msg_type": "execute_reply"} and seconds < 5


def test_with_no_message_the_timeout_still_holds(monkeypatch):
    monkeypatch.setattr(runner, "POLL_SLICE_S", 0.2)
    socket = _Socket(ready=False)
    result, seconds = _get(_Channel(socket), 1.0)
    assert result is Empty and 0.95 <= seconds < 3
    assert len(socket.polls) >= 4 and max(socket.polls) <= 200  # in slices, never one long wait
    assert _get(_Channel(_Socket(ready=False)), 0)[0] is Empty  # timeout 0: one look, no wait


def test_notebook_runs_talk_to_their_kernel_through_sliced_channels(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=3)"),
        nbformat.v4.new_code_cell("print('after the widget')")])
    run = NotebookRun(nb, cwd=tmp_path)
    with run.kernel(quiet=True):
        assert isinstance(run.client.kc.shell_channel, SlicedPollChannel)
        assert isinstance(run.client.kc.iopub_channel, SlicedPollChannel)
        run.run_all(timeout=120)
    assert run.nb.cells[1].outputs[0]["text"] == "after the widget\n"
