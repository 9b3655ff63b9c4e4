import factory
from django.utils import timezone

from scheduler.models import Task
from scheduler.services import lane_key


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    type = "check"
    name = factory.Sequence(lambda n: f"task {n}")
    platform = ""
    account = ""
    safari_host = "local"
    priority = 3
    scheduled_for = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)
    lane = factory.LazyAttribute(
        lambda t: lane_key(type=t.type, platform=t.platform, account=t.account, host=t.safari_host)
    )
