"""Who is calling: bearer tokens, each issued to one person.

The token is checked against the ones the service was configured with
(FAB_SERVICE_TOKENS="token=alice@fab1,other-token=bob@fab1"); the person it was
issued to is the acting user of every write the request makes, and so the
`actor` of its audit rows. A real service would verify a signed token (OIDC,
JWT) or look up a session here: only this module would change.
"""

import hmac
import os
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

TOKENS_VARIABLE = "FAB_SERVICE_TOKENS"

_bearer = HTTPBearer(auto_error=False, description="a token issued to one person")


def tokens_from_environment() -> dict[str, str]:
    """The tokens in FAB_SERVICE_TOKENS: `token=person` pairs separated by commas."""
    tokens: dict[str, str] = {}
    for pair in os.environ.get(TOKENS_VARIABLE, "").split(","):
        token, _, person = pair.strip().partition("=")
        if token and person.strip():
            tokens[token] = person.strip()
    return tokens


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """The person the request's bearer token was issued to; 401 without a valid one."""
    return _person(request, credentials)


def _person(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is not None:
        given = credentials.credentials.encode()
        tokens: dict[str, str] = request.app.state.tokens
        for token, person in tokens.items():
            if hmac.compare_digest(given, token.encode()):
                return person
    raise HTTPException(
        401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
    )


class AuthenticatedRoute(APIRoute):
    """A route that decides who is calling before anything else: FastAPI reads and
    parses the body before it solves dependencies, so a caller without a valid token
    would otherwise learn that its body does not parse (422) instead of 401."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            _person(request, await _bearer(request))
            return await handler(request)

        return authenticated
