"""Simulators of the automation services, serving CONTRACTS.md exactly, over real HTTP.

Demo mode and the tests run the real client code against these. Each service is a
`SimService` (state and answers) served by a `SimServer` (stdlib HTTP server in a thread):

    server = SimServer(TwitterDMSim(), port=0).start()   # a free port; server.url
    ...
    server.stop()

or `build_servers(host, port_offset=1000)` for all seven on the demo ports (4001-4007).

State, per service: conversations and messages, one account's rolling hourly/daily counters
with the old services' caps (X 15/h 100/day, TikTok 10/h 50/day, Instagram 10/h 30/day;
comments: Threads 5/20, Instagram 5/15, TikTok 5/15, X 10/30), the session state, and
TikTok's memory of whom it messaged. Windows and reply delays shrink by
`settings.SIM_TIME_SCALE` (10 means an "hour" lasts six real minutes); timestamps are real.
Usernames starting with `nouser` do not exist. `profile="real"` (the default; `kind` keeps the
instant, faithful answers) makes the DM services behave as CONTRACTS.md "How the real services
behave" says: see `dm_services.py` and `tab.py`.

Test routes, on every service:

- `GET /_sim/sent` -> `[{platform, username, text, time, post_url?}]`: every delivery, in order
  (comments have `username: ""` and `post_url`).
- `GET /_sim/requests` -> `[{method, path, query, json, authorization}]`: the last 5,000 calls
  to the service's own routes, so a test can assert the exact URL and JSON a client sent.
- `POST /_sim/reset` -> back to the state at construction (empty, or the demo seed).
- `GET /_sim/faults` -> the faults in force.
- `GET /_sim/tab` -> `{busy, overlaps:[{method, path, during}]}`: calls that reached the Safari
  tab while a send drove it (`real` profile; see `tab.py`). On the comment services `busy`
  says a post is under way (`real` profile).
- `POST /_sim/faults` merges a faults document (400 on an unknown key or a bad value):

      {
        "latency_ms": 0,            # every /api and /health call waits this long first
        "status_429": 0,            # a TRIGGER: refuse with 429 {success:false, error,
                                    #   rateLimited:true, retryAfter} + Retry-After header
        "retry_after_s": 60,        # the retry time those 429s carry; null: none at all
        "status_503": 0,            # TRIGGER: 503 {success:false, error} (no Safari session)
        "crash_after_delivery": 0,  # TRIGGER: deliver, then close the socket unanswered
        "unverified": 0,            # TRIGGER: deliver, answer success with verified:false
        "challenge": 0,             # TRIGGER: a CAPTCHA for this send (TikTok real: 429
                                    #   {rateLimited, captcha}; else as the captcha flag)
        "double_send": 0,           # TRIGGER (Instagram): delivered twice, answered
                                    #   {success:true, strategy:"inbox"} without verified
        "status_504": 0,            # TRIGGER (DM): deliver, answer 504 Gateway Timeout
        "logged_out": false,        # FLAG: status says logged out; sends refused
        "captcha": false,           # FLAG: a CAPTCHA is on screen; sends refused
        "suspended": false,         # FLAG: account suspended; sends refused
        "scope": "send"             # where 429/503 triggers apply: "send" or "all" /api routes
      }

  A TRIGGER is a count (an int: the next N calls it applies to) or a probability (a float in
  (0, 1]: each such call). 0, false or null turns it off. Sends refused for a FLAG answer
  `200 {success:false, error}` on Instagram and X (as those services do) and 503 elsewhere.
- `POST /_sim/config` `{hourly_limit?, daily_limit?, reply_probability?, reply_delay_seconds?,
  duration_scale?}` (how much faster than the real ones sends run):
  small caps for tests; the odds (per delivered DM) and delay (simulated seconds) of a
  contact's canned friendly reply, which lands in the conversation when it is next read.
  The comment services take more keys (slow posts, 504s, an outage, the front tab): see
  `comment_services`. Prospect discovery answers per platform and profile: see `discovery`.
"""

from .comment_services import (
    CommentSim,
    InstagramCommentSim,
    ThreadsCommentSim,
    TikTokCommentSim,
    TwitterCommentSim,
)
from .dm_services import DMSim, InstagramDMSim, TikTokDMSim, TwitterDMSim
from .faults import Faults
from .registry import SERVICES, build_servers
from .server import SimServer
from .service import SimService

__all__ = [
    "SERVICES",
    "CommentSim",
    "DMSim",
    "Faults",
    "InstagramCommentSim",
    "InstagramDMSim",
    "SimServer",
    "SimService",
    "ThreadsCommentSim",
    "TikTokCommentSim",
    "TikTokDMSim",
    "TwitterCommentSim",
    "TwitterDMSim",
    "build_servers",
]
