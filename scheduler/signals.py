"""The PRD's events as Django signals. Each fires once, on commit, in the process that
made the change (see `scheduler.events.record`)."""

from django.dispatch import Signal

# Every event row; sender is the Event.
event_recorded = Signal()
# taskComplete / taskFailed / taskBlocked; sender is the Task.
task_complete = Signal()
task_failed = Signal()
task_blocked = Signal()
# creditsRefreshed, platformPaused; sender is the Event, data in `event.data`.
credits_refreshed = Signal()
platform_paused = Signal()

SIGNAL_BY_KIND = {
    "task.completed": task_complete,
    "task.failed": task_failed,
    "task.blocked": task_blocked,
    "sora.credits_refreshed": credits_refreshed,
    "platform.paused": platform_paused,
}
