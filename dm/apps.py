from django.apps import AppConfig


class DmConfig(AppConfig):
    name = "dm"
    verbose_name = "Platforms and DMs"

    def ready(self) -> None:
        from dm import registration

        registration.register()
