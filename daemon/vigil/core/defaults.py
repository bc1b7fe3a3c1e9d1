"""Timing and quorum defaults of a node: the one source (pure constants).

The configuration file's ``timing`` and ``quorum`` keys (:func:`vigil.config.parse_config`),
the parsed :class:`vigil.config.Config` and the controller's
:class:`vigil.core.spec.ClusterSpec` all take their defaults from here;
``docs/configuration.md`` states the same values.

* ``join_timeout_ms`` is not a constant in the file: it defaults to twice ``deadtime_ms``,
  at least ``JOIN_TIMEOUT_MIN_MS`` (:func:`join_timeout_ms`); ``JOIN_TIMEOUT_MS`` is that
  value for the default deadtime.
* ``wait_for_all`` defaults to ``two_node`` in the file (two nodes that boot apart must not
  both take quorum); ``WAIT_FOR_ALL`` is its value without ``two_node``.
* ``expected_votes`` has no default number: None means the sum of the nodes' votes.
"""

from __future__ import annotations

HEARTBEAT_INTERVAL_MS = 200
DEADTIME_MS = 1000
JOIN_TIMEOUT_MIN_MS = 2000
EXPECTED_VOTES: int | None = None
TWO_NODE = False
WAIT_FOR_ALL = False
LAST_MAN_STANDING = False
LMS_WINDOW_MS = 10_000


def join_timeout_ms(deadtime_ms: int) -> int:
    """How long a starting node waits for its peers before electing, by default."""
    return max(JOIN_TIMEOUT_MIN_MS, 2 * deadtime_ms)


JOIN_TIMEOUT_MS = join_timeout_ms(DEADTIME_MS)
