"""The runner: what a django-q2 worker executes for one claimed task.

`run(task_id, attempt)` does nothing unless the row is still `scheduled` at that attempt, so a
package the broker delivers again after a crash can never run a task twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_q.exceptions import TimeoutException

from scheduler import events, registry
from scheduler.broker import Delivery
from scheduler.errors import TaskBlocked, TaskCancelled, TaskDeferred, TaskError
from scheduler.lifecycle import S, fail_attempt, transition
from scheduler.models import Task
from scheduler.recovery import attempt_recover_lost
from scheduler.store import compose, get_store

logger = logging.getLogger(__name__)


class TaskContext:
    """What a handler sees: the task, its payload, and cooperative controls."""

    def __init__(self, task: Task, heartbeat: Heartbeat) -> None:
        self.task = task
        self.payload: dict[str, Any] = task.payload or {}
        self._heartbeat = heartbeat

    @property
    def attempt(self) -> int:
        return self.task.attempt

    def now(self) -> datetime:
        return timezone.now()

    def cancel_requested(self) -> str:
        return self._heartbeat.cancel_requested

    def check_cancelled(self) -> None:
        """Raise TaskCancelled at a safe point if a cancel or stop was asked for."""
        if self._heartbeat.cancel_requested:
            raise TaskCancelled(self._heartbeat.cancel_requested)

    def sleep(self, seconds: float) -> None:
        """Wait, waking early (and raising TaskCancelled) when asked to stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_cancelled()
            self._heartbeat.changed.wait(min(left, 0.2))
        self.check_cancelled()

    def release_safari(self, reason: str = "") -> None:
        """Give Safari back while the task goes on (a video generating, say)."""
        event = compose("task.released_safari", task_id=self.task.pk, message=reason)
        get_store().release_safari(self.task, event)
        self.task.holds_safari = False

    def event(self, kind: str, message: str = "", **data: Any) -> None:
        with transaction.atomic():
            events.record(kind, task=self.task, message=message, data=data)

    def save_progress(self, **result: Any) -> None:
        """Store partial results on the task now (a command id after a 202, say)."""
        merged = {**(self.task.result or {}), **result}
        get_store().save_progress(self.task.pk, self.task.attempt, merged)
        self.task.result = merged


class Heartbeat:
    """Touches `heartbeat_at` while the task runs and reads cancel requests back.

    One shared thread per process beats for every running task (starting a thread per
    task cost more than a no-op task itself).
    """

    def __init__(self, task_id: int, attempt: int) -> None:
        self.task_id = task_id
        self.attempt = attempt
        self.cancel_requested = ""
        self.changed = threading.Event()

    def __enter__(self) -> Heartbeat:
        _beater.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _beater.remove(self)
        self.changed.set()

    def beat(self) -> None:
        flag = get_store().beat(self.task_id, self.attempt, timezone.now())
        if flag:
            self.cancel_requested = flag
            self.changed.set()


class _Beater:
    def __init__(self) -> None:
        self._beats: dict[int, Heartbeat] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, beat: Heartbeat) -> None:
        with self._lock:
            self._beats[id(beat)] = beat
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="heartbeat")
                self._thread.start()

    def remove(self, beat: Heartbeat) -> None:
        with self._lock:
            self._beats.pop(id(beat), None)

    def _loop(self) -> None:
        while True:
            time.sleep(float(settings.SCHEDULER["HEARTBEAT_SECONDS"]))
            with self._lock:
                beats = list(self._beats.values())
            if not beats:
                continue
            try:
                for beat in beats:
                    beat.beat()
            except Exception:  # the worker goes on; the reaper covers a silent heartbeat
                logger.exception("heartbeat failed")
            finally:
                connection.close()  # hold no connection between beats


_beater = _Beater()


def run(task_id: int, attempt: int) -> str:
    """Execute one attempt of a claimed task; returns the status it ended in."""
    if connection.get_autocommit():  # never drop a connection mid-transaction (sync mode)
        close_old_connections()
    delivery = Delivery.take((task_id, attempt))
    package = delivery.package["ack_id"] if delivery is not None else None
    # The worker's pid goes into the result with the start: operators and the chaos suite
    # see which process runs any task.
    task = get_store().start(task_id, attempt, now=timezone.now(), package=package, pid=os.getpid())
    if task is not None and delivery is not None:  # acknowledged with the start
        delivery.acknowledged()
    if task is None:
        logger.info("task %s attempt %s is no longer ours to run; skipping", task_id, attempt)
        return ""
    task_type = registry.task_type(task.type)
    with Heartbeat(task_id, attempt) as heartbeat:
        if task_type is None:
            return fail_attempt(
                task, f"no handler for type {task.type!r}", permanent=True, attempt=attempt
            )
        try:
            result = task_type.handler(TaskContext(task, heartbeat))
        except TimeoutException:
            _end_timed_out(task, attempt)
            raise  # django-q2 replaces the worker: the handler stopped at an arbitrary point
        except TaskCancelled:
            return _end_cancelled(task, attempt)
        except TaskBlocked as blocked:
            return _end_blocked(task, attempt, blocked)
        except TaskDeferred as deferred:
            return _end_deferred(task, attempt, deferred)
        except TaskError as exc:
            return _end_failed(task, attempt, str(exc), permanent=exc.permanent)
        except Exception as exc:
            logger.exception("task %s raised", task_id)
            return _end_failed(task, attempt, f"{exc.__class__.__name__}: {exc}", permanent=False)
    return _end_completed(task, attempt, result)


def _end_timed_out(task: Task, attempt: int) -> None:
    """django-q2 interrupted the handler at the type's timeout: end the attempt now (as the
    reaper would for a lost worker, without waiting for the heartbeat to go stale)."""
    seconds = registry.timeout_for(task.type)
    try:
        task.refresh_from_db()
        if task.status == S.RUNNING and task.attempt == attempt:
            attempt_recover_lost(
                task=task,
                reason=f"timed out after {seconds}s on attempt {attempt}",
                now=timezone.now(),
            )
    except Exception:  # the reaper ends it once the heartbeat is stale
        logger.exception("could not end task %s after its timeout", task.pk)


def _end_completed(task: Task, attempt: int, result: Any) -> str:
    if result is None:
        result = task.result
    moved = transition(
        task.pk,
        source=[S.RUNNING],
        target=S.COMPLETED,
        kind="task.completed",
        message=task.name,
        attempt=attempt,
        result=result,
        error="",
        wait_reason="",
    )
    return S.COMPLETED if moved else ""


def _end_failed(task: Task, attempt: int, error: str, *, permanent: bool) -> str:
    task.refresh_from_db()
    if task.cancel_requested:
        return _end_cancelled(task, attempt)
    return fail_attempt(task, error, permanent=permanent, attempt=attempt)


def _end_cancelled(task: Task, attempt: int) -> str:
    flag = Task.objects.filter(pk=task.pk).values_list("cancel_requested", flat=True).first()
    if flag == "requeue":
        moved = transition(
            task.pk,
            source=[S.RUNNING],
            target=S.PENDING,
            kind="task.requeued",
            message="stopped; back in the queue",
            attempt=attempt,
            wait_reason="stopped by user",
            claimed_by="",
        )
        return S.PENDING if moved else ""
    moved = transition(
        task.pk,
        source=[S.RUNNING],
        target=S.CANCELLED,
        kind="task.cancelled",
        message="cancelled while running",
        attempt=attempt,
        error="cancelled while running",
    )
    return S.CANCELLED if moved else ""


def _end_blocked(task: Task, attempt: int, blocked: TaskBlocked) -> str:
    moved = transition(
        task.pk,
        source=[S.RUNNING],
        target=S.BLOCKED,
        kind="task.blocked",
        message=blocked.reason,
        data=blocked.data,
        attempt=attempt,
        wait_reason=blocked.reason[:300],
    )
    return S.BLOCKED if moved else ""


def _end_deferred(task: Task, attempt: int, deferred: TaskDeferred) -> str:
    moved = transition(
        task.pk,
        source=[S.RUNNING],
        target=S.PENDING,
        kind="task.deferred",
        message=deferred.reason,
        data={"until": deferred.until.isoformat()},
        attempt=attempt,
        scheduled_for=deferred.until,
        wait_reason=deferred.reason[:300],
        claimed_by="",
    )
    return S.PENDING if moved else ""
