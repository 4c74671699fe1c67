"""The profiles, how a request picks one, and ``render``: a response body in a profile.

``full`` is the whole surface (the TypeScript SDK, and anyone verifying quote signatures);
``v0.1.10-strict`` is exactly the reference spec 0.1.10 (the Go SDK decodes with
``DisallowUnknownFields``); ``rust-v0`` keeps every field but only enum values the Rust SDK's
closed enums know. A profile removes properties and list items; it never changes a value, so the
``signature`` in a profiled quote is the one of the full quote (verify it on ``full``)."""

from __future__ import annotations

import logging
from enum import StrEnum

from oneclick.api.profiles import rust_v0, spec_v0_1_10
from oneclick.api.profiles.shapes import ClientApi, prune
from oneclick.domain.errors import RequestError

logger = logging.getLogger(__name__)

HEADER = "X-OneClick-Compat"


class Profile(StrEnum):
    FULL = "full"
    V0_1_10_STRICT = "v0.1.10-strict"
    RUST_V0 = "rust-v0"


CLIENT_APIS: dict[Profile, ClientApi] = {
    Profile.V0_1_10_STRICT: ClientApi(spec_v0_1_10.SCHEMAS, spec_v0_1_10.RESPONSES, closed=True),
    Profile.RUST_V0: ClientApi(rust_v0.SCHEMAS, rust_v0.RESPONSES, closed=False),
}

# The User-Agent each SDK sends unless its caller sets another one (Go: configuration.go of
# one-click-sdk-go v0.1.10.2; Rust: v0/src/apis/configuration.rs of the ``oneclick`` crate).
SDK_USER_AGENTS: dict[str, Profile] = {
    "OpenAPI-Generator/1.0.0/go": Profile.V0_1_10_STRICT,
    "OpenAPI-Generator/0.1.10/rust": Profile.RUST_V0,
}


class UnknownProfile(RequestError):  # noqa: N818 (reads as what the caller sent)
    def __init__(self, value: str) -> None:
        valid = ", ".join(profile.value for profile in Profile)
        super().__init__(f"{HEADER} must be one of {valid} (got {value!r})")


def select_profile(compat: str | None, user_agent: str | None) -> Profile:
    """The explicit ``X-OneClick-Compat`` header first, then an SDK's default User-Agent,
    else ``full``."""
    if compat is not None:
        try:
            return Profile(compat.strip().lower())
        except ValueError:
            raise UnknownProfile(compat) from None
    if user_agent is not None:
        return SDK_USER_AGENTS.get(user_agent.strip(), Profile.FULL)
    return Profile.FULL


def render(profile: Profile, method: str, path: str, status: int, body: object) -> object:
    """``body`` (the full response of ``method path`` with ``status``) as ``profile`` serves it.
    Operations the profile's client does not have are served in full, their errors pruned."""
    api = CLIENT_APIS.get(profile)
    if api is None:
        return body
    node = api.response(method, path, status)
    if node is None:
        return body
    pruned = prune(body, node, api)
    if pruned.unrepresentable:
        # Nothing to remove and nothing we may invent: serve it and say so (see README).
        logger.warning(
            "response not representable in profile %s: %s",
            profile.value,
            "; ".join(pruned.unrepresentable),
            extra={"action": "compat_profile", "path": path, "status": status},
        )
    return pruned.body
