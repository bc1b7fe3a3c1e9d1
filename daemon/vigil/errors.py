"""The one exception hierarchy of vigil.

Every error a user can cause carries a message that names what is wrong and where
(a config key path, an XML element, a resource id). Each class maps to a stable
``kind`` string used on the control socket and to a ``vigilctl`` exit code.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every vigil error."""

    kind = "error"
    exit_code = 1


class ConfigError(VigilError):
    """The node configuration file is invalid; ``path`` is the key path (``transport.port``)."""

    kind = "config"
    exit_code = 2

    def __init__(
        self, path: str, message: str, errors: list[tuple[str, str]] | None = None
    ) -> None:
        self.errors = errors or [(path, message)]
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in self.errors))
        self.path = path


class ProtocolError(VigilError):
    """A message from a peer could not be decoded or authenticated (dropped, counted)."""

    kind = "protocol"


class RemoteError(VigilError):
    """A peer (usually the DC) answered a forwarded request with an error."""

    kind = "remote"


class CibInvalid(VigilError):
    """A CIB or CIB fragment is malformed or refers to something that does not exist."""

    kind = "invalid"
    exit_code = 2


class CibExists(CibInvalid):
    """An object with this id already exists."""

    kind = "exists"


class CibNotFound(CibInvalid):
    """No object with this id exists."""

    kind = "not_found"


class CibConflict(VigilError):
    """The caller's expected CIB version is stale: someone else wrote first."""

    kind = "conflict"


class Unavailable(VigilError):
    """The cluster cannot serve the request now (no DC, no quorum, DC unreachable)."""

    kind = "unavailable"


class AgentError(VigilError):
    """A resource agent is missing or misbehaved."""

    kind = "agent"
    exit_code = 2


class FencingError(VigilError):
    """A fencing request could not be carried out."""

    kind = "fencing"


KINDS: dict[str, type[VigilError]] = {
    cls.kind: cls
    for cls in (
        VigilError,
        ConfigError,
        ProtocolError,
        RemoteError,
        CibInvalid,
        CibExists,
        CibNotFound,
        CibConflict,
        Unavailable,
        AgentError,
        FencingError,
    )
}


def error_from_wire(kind: str, message: str) -> VigilError:
    """Rebuild an error received as ``{"kind", "message"}`` from a peer or the control socket."""
    cls = KINDS.get(kind, VigilError)
    if cls is ConfigError:
        return ConfigError("", message)
    return cls(message)


def error_reply(exc: VigilError) -> dict[str, object]:
    """The answer to a request that failed with ``exc`` (control socket and peers)."""
    return {"ok": False, "error": {"kind": exc.kind, "message": str(exc)}}
