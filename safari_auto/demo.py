"""Demo mode cannot reach a real service.

With `DEMO=1` every automation service URL is its simulator's: 127.0.0.1 on the real port
+ 1000. A service variable left empty gets that URL; one that names anything else (a real
port, another host) stops the process at start-up with an error naming the variable, so a
`.env` written for the real services can never be driven under a DEMO label. With demo off,
an empty variable means the real service on its PRD port.

Pure: reads the mapping it is given, never `os.environ` or settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

SIM_PORT_OFFSET = 1000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# service key -> (environment variable, the real service's PRD port)
SERVICES: dict[str, tuple[str, int]] = {
    "instagram_dm": ("INSTAGRAM_DM_URL", 3001),
    "tiktok_dm": ("TIKTOK_DM_URL", 3002),
    "twitter_dm": ("TWITTER_DM_URL", 3003),
    "threads_comments": ("THREADS_COMMENTS_URL", 3004),
    "instagram_comments": ("INSTAGRAM_COMMENTS_URL", 3005),
    "tiktok_comments": ("TIKTOK_COMMENTS_URL", 3006),
    "twitter_comments": ("TWITTER_COMMENTS_URL", 3007),
    "sora": ("SORA_URL", 7070),
}


def simulator_url(key: str, offset: int = SIM_PORT_OFFSET) -> str:
    return f"http://127.0.0.1:{SERVICES[key][1] + offset}"


def is_simulator(key: str, url: str, offset: int = SIM_PORT_OFFSET) -> bool:
    """True when `url` is the local simulator of service `key` (and nothing else)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    expected = SERVICES[key][1] + offset
    return parts.scheme == "http" and parts.hostname in LOOPBACK and port == expected


def service_urls(
    env: Mapping[str, str], *, demo: bool, offset: int = SIM_PORT_OFFSET
) -> dict[str, str]:
    """Each service's base URL; in demo mode, the simulator's or ImproperlyConfigured."""
    urls: dict[str, str] = {}
    for key, (variable, port) in SERVICES.items():
        given = env.get(variable, "").strip()
        if not demo:
            urls[key] = given or f"http://127.0.0.1:{port}"
        elif not given or is_simulator(key, given, offset):
            urls[key] = given or simulator_url(key, offset)
        else:
            shown = f"{urlsplit(given).hostname or '(no host)'}:{_port(given)}"
            raise ImproperlyConfigured(
                f"DEMO=1 but {variable} points at {shown}, not its simulator "
                f"({simulator_url(key, offset)}): unset {variable} for the demo, or set DEMO=0 to "
                "drive the real services."
            )
    return urls


def real_services(urls: Mapping[str, str], offset: int = SIM_PORT_OFFSET) -> list[str]:
    """The services in `urls` that are not their simulator: what a DEMO label would hide."""
    return [
        key for key, url in urls.items() if key in SERVICES and not is_simulator(key, url, offset)
    ]


def _port(url: str) -> str:
    try:
        return str(urlsplit(url).port or "default port")
    except ValueError:
        return "an invalid port"
