from django.apps import AppConfig


class SoraConfig(AppConfig):
    name = "sora"
    verbose_name = "Sora videos"

    def ready(self) -> None:
        from sora import registration

        registration.register()
