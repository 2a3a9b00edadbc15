"""Django's session middleware, with an answer for a session ended in another window while a
request ran (R-W1, R-X8).

The member logs out, or sets a new password (the session gets a new key), in one window while
another window's request runs: that request's end cannot save its session (the row is gone),
and Django refuses it as a bad request. Its work is done by then: a transfer confirmed with its
code is booked. Django's "the data you entered is not valid" would make the member order it
again; the page says instead whether the request's work was done, and asks for a new login.
"""

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

from skarbiec.core.errors import SessionEndedAfterItsWork, SessionEndedElsewhere
from skarbiec.core.refusals import refusal_response


class SessionEndedElsewhereMiddleware(SessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except SessionInterrupted:
            # A view's refusal (4xx) may still have had a consequence (a third wrong code
            # cancels the transfer): only an answer that went well is said to be done.
            done = response.status_code < 400
            ended = SessionEndedAfterItsWork() if done else SessionEndedElsewhere()
            answer = refusal_response(request, ended)
            answer.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
            return answer
