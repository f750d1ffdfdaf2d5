"""Work off the UI thread, with its outcome delivered back on it: one helper for every worker.

In the spirit of Anki's ``QueryOp``: the work is a plain function run in a thread; success,
failure, progress and cancellation arrive as calls on the UI thread. The widget-lifetime rule
that a segfault taught us (226fc9f) is written here once:

* the thread never holds a widget — only a parentless, send-only relay object, so no widget's
  last reference can be dropped (and the C++ object deleted) off the UI thread;
* callbacks run only while their owner widget is still alive: a dialog closed mid-way simply
  hears nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Relay(QObject):
    """Carries the thread's news to the UI thread (queued connections); it only sends, so it
    may be freed in any thread."""

    progress = Signal(object)
    done = Signal(object, object)  # value, error (exactly one is meaningful)


class _Receiver(QObject):
    """Lives in the UI thread as the owner's child: queued deliveries land here, and die with
    the owner (a closed dialog hears nothing)."""

    def __init__(self, owner: QObject, task: BackgroundTask[Any]) -> None:
        super().__init__(owner)
        self._task = task

    @Slot(object)
    def progress(self, value: object) -> None:
        self._task._progress(value)

    @Slot(object, object)
    def done(self, value: object, error: object) -> None:
        self._task._done(value, error if isinstance(error, BaseException) else None)


class TaskControl:
    """What the work function gets: report progress, and ask whether to stop."""

    def __init__(self, relay: _Relay, cancel: threading.Event) -> None:
        self._relay = relay
        self.cancel_event = cancel

    def progress(self, value: object) -> None:
        self._relay.progress.emit(value)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class BackgroundTask(Generic[T]):
    """``work(control)`` in a thread; its outcome through the callbacks, on the UI thread.

    ``work`` must not capture widgets (take what it needs as plain values); the callbacks may.

    ``cancelled_by``: the exceptions that mean the work stopped because it was asked to (they
    call ``on_cancelled``, not ``on_failure``). An exception outside ``expected`` is a bug: it
    is logged with its traceback and reported to ``on_failure`` all the same, so no dialog waits
    for ever.
    """

    def __init__(
        self,
        owner: QObject,
        work: Callable[[TaskControl], T],
        *,
        on_success: Callable[[T], None],
        on_failure: Callable[[BaseException], None],
        on_progress: Callable[[Any], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        cancelled_by: tuple[type[BaseException], ...] = (),
        expected: tuple[type[BaseException], ...] = (OSError,),
        name: str = "clipseek-task",
    ) -> None:
        self._owner = owner
        self._work = work
        self._on_success, self._on_failure = on_success, on_failure
        self._on_progress, self._on_cancelled = on_progress, on_cancelled
        self._cancelled_by, self._expected = cancelled_by, expected
        self._name = name
        self._relay = _Relay()  # no parent: see the module's rule
        self._receiver = _Receiver(owner, self)
        self._relay.progress.connect(self._receiver.progress)
        self._relay.done.connect(self._receiver.done)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def running(self) -> bool:
        """From ``start()`` until the outcome is delivered (not until the thread has ended: a
        Retry pressed as the failure shows must start a new run, not find the old one)."""
        return self._running

    def start(self) -> None:
        """Start (again, after a failure: a new run with a fresh cancel flag)."""
        if self._running:
            return
        self._running = True
        self._cancel = threading.Event()
        control = TaskControl(self._relay, self._cancel)
        # The thread gets the work, the relay and the flags: never this task, which holds the
        # owner widget and callbacks that reference widgets.
        self._thread = threading.Thread(
            target=_run,
            args=(self._work, control, self._relay, self._cancelled_by, self._expected, self._name),
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next check; ``on_cancelled`` follows when it has."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    # -- the UI thread -----
    def _alive(self) -> bool:
        return shiboken6.isValid(self._owner)

    def _progress(self, value: object) -> None:
        if self._on_progress is not None and self._alive():
            self._on_progress(value)

    def _done(self, value: Any, error: BaseException | None) -> None:
        self._running = False
        if not self._alive():
            return
        if error is None:
            self._on_success(value)
        elif isinstance(error, self._cancelled_by):
            if self._on_cancelled is not None:
                self._on_cancelled()
        else:
            self._on_failure(error)


def _run(
    work: Callable[[TaskControl], Any],
    control: TaskControl,
    relay: _Relay,
    cancelled_by: tuple[type[BaseException], ...],
    expected: tuple[type[BaseException], ...],
    name: str,
) -> None:
    """The thread's whole world: the work function, its control and the relay."""
    try:
        value = work(control)
    except cancelled_by as exc:
        relay.done.emit(None, exc)
    except BaseException as exc:
        if not isinstance(exc, expected):
            log.exception("%s failed", name)
        relay.done.emit(None, exc)
    else:
        relay.done.emit(value, None)
