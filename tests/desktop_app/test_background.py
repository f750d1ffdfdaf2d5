"""The one background-task helper: outcomes on the UI thread, and never to a dead widget."""

from __future__ import annotations

import gc
import threading
import time

from PySide6.QtWidgets import QWidget

from desktop_app.background import BackgroundTask, TaskControl


class Stop(Exception):
    pass


def _task(owner, work, **kw):
    seen: dict[str, object] = {"threads": set()}

    def note(key):
        def record(value=None):
            seen[key] = value
            seen["threads"].add(threading.current_thread() is threading.main_thread())

        return record

    task = BackgroundTask(
        owner,
        work,
        on_success=note("success"),
        on_failure=note("failure"),
        on_progress=note("progress"),
        on_cancelled=note("cancelled"),
        cancelled_by=(Stop,),
        **kw,
    )
    return task, seen


def _raise(exc: BaseException):
    def work(control: TaskControl) -> None:
        raise exc

    return work


def test_success_and_progress_arrive_on_the_ui_thread(qtbot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)

    def work(control: TaskControl) -> int:
        control.progress(0.5)
        return 42

    task, seen = _task(owner, work)
    task.start()
    qtbot.waitUntil(lambda: "success" in seen, timeout=5000)
    assert seen["success"] == 42 and seen["progress"] == 0.5 and seen["threads"] == {True}


def test_failure_cancel_and_a_bug_are_told_apart(qtbot, caplog) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    task, seen = _task(owner, _raise(OSError("disk gone")))
    task.start()
    qtbot.waitUntil(lambda: "failure" in seen, timeout=5000)
    assert str(seen["failure"]) == "disk gone" and "failed" not in caplog.text  # expected

    def until_cancelled(control: TaskControl) -> None:
        while not control.cancelled:
            time.sleep(0.01)
        raise Stop

    task, seen = _task(owner, until_cancelled)
    task.start()
    task.cancel()
    qtbot.waitUntil(lambda: "cancelled" in seen, timeout=5000)
    assert "failure" not in seen

    task, seen = _task(owner, _raise(ZeroDivisionError("a bug")))
    task.start()
    qtbot.waitUntil(lambda: "failure" in seen, timeout=5000)
    assert isinstance(seen["failure"], ZeroDivisionError) and "failed" in caplog.text  # logged


def test_a_closed_owner_hears_nothing_and_nothing_crashes(qtbot) -> None:
    owner = QWidget()
    release = threading.Event()

    def slow(control: TaskControl) -> str:
        release.wait(5)
        return "late"

    task, seen = _task(owner, slow)
    task.start()
    owner.deleteLater()  # the dialog is closed and gone while the work runs
    qtbot.wait(50)
    del owner
    gc.collect()
    release.set()
    qtbot.wait(300)
    assert "success" not in seen


def test_a_failure_can_be_retried_from_its_own_callback(qtbot, monkeypatch) -> None:
    """Retry right after a failure starts again, even while the failed run's thread is still
    winding down (the install dialog's Retry once did nothing in that window of time)."""
    import desktop_app.background as background

    real_run = background._run

    def lingering_run(*args):
        real_run(*args)
        time.sleep(0.5)  # the outcome is delivered; the thread has not ended yet

    monkeypatch.setattr(background, "_run", lingering_run)
    owner = QWidget()
    qtbot.addWidget(owner)
    attempts: list[int] = []
    outcomes: list[str] = []

    def work(control: TaskControl) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("offline")
        return "done"

    def failed(exc: BaseException) -> None:
        outcomes.append(f"failed: {exc}")
        task.start()

    task: BackgroundTask[str] = BackgroundTask(
        owner, work, on_success=outcomes.append, on_failure=failed
    )
    task.start()
    qtbot.waitUntil(lambda: "done" in outcomes, timeout=10_000)
    assert outcomes == ["failed: offline", "done"] and len(attempts) == 2
