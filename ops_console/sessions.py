"""Idle console sessions expire: activity pushes the session's expiry ahead, at most one write a minute."""

import time

TOUCH_KEY = "_last_touch"
TOUCH_EVERY_SECONDS = 60  # SESSION_SAVE_EVERY_REQUEST would write the session row on every console page


class IdleSessionMiddleware:
    """A signed-in session is saved again (new expiry: now + SESSION_COOKIE_AGE) once a minute of activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - int(request.session.get(TOUCH_KEY, 0)) >= TOUCH_EVERY_SECONDS:
                request.session[TOUCH_KEY] = now
        return self.get_response(request)
