"""Random Pacemaker CIBs (configuration and status) for differential tests of the scheduler.

``generate(seed) -> Case`` is deterministic: one seed, one CIB, on any machine. Replay one:

    python -m vigil.testing.cibgen --seed S > case.xml
    vigilctl simulate --xml-file case.xml --json
    python3 ../shared/tools/oracle.py case.xml

and run many against the real scheduler with ``python -m vigil.testing.cibgen --count N``
(see ``__main__.py``).

Coverage (each case records the tags of what it drew in ``Case.features``):

* cluster: ``stonith-enabled`` with a fence device, quorum lost with every
  ``no-quorum-policy``, ``symmetric-cluster=false``, every ``placement-strategy`` with node
  and resource utilization, ``start-failure-is-fatal=false``, ``startup-fencing=false``,
  ``maintenance-mode``, ``stop-all-resources``, ``rsc_defaults`` stickiness and
  migration-threshold;
* nodes (2-5): online, left cleanly, lost (unclean), never seen; standby (configured or
  transient), maintenance, shutting down; attributes ``site``, ``rack``, ``ssd``;
* resources: ``ocf:pacemaker:Dummy`` primitives, groups, clones of primitives or groups
  (``clone-max``, ``clone-node-max``, ``interleave``, ``ordered``, ``globally-unique``),
  promotable clones of ``ocf:pacemaker:Stateful`` (``promotable=true`` or ``<master>``,
  ``promoted-max``, ``master-*`` promotion scores); ops with intervals in seconds, units
  and ISO 8601 (``PT1M``), role-specific monitors (also legacy role names and
  ``role=Stopped``), ``on-fail``; meta ``target-role``, ``is-managed``, ``maintenance``,
  stickiness, ``migration-threshold``, ``failure-timeout``, ``priority``,
  ``multiple-active``, ``requires``;
* constraints: see ``constraints.py`` (locations with scores, rules, roles,
  resource-discovery, sets and patterns; colocations; orders; tickets);
* status: see ``status.py`` (probes, starts, promotions, failed monitors/starts/stops with
  rc codes, hard errors on probes, degraded results, pending ops, changed definitions,
  stale monitors, fail counts and failure times, ticket states).

Also drawn, rarely: ``allow-migrate`` (moves become live migrations) and clone
``notify`` (their own issue; discrepancies there are reported, not fixed here).

Left out: Pacemaker Remote (remote and guest nodes, bundles), which vigil does not model;
resource templates, tags, ``op_defaults`` and ``rsc_defaults`` rules are covered by the
corpus only; histories of partial migrations are not generated.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .model import build
from .render import render

# 2025-06-15: the CIB's execution-date, so failure-timeout and date rules agree
NOW_S = 1_750_000_000

__all__ = ["NOW_S", "Case", "generate"]


@dataclass(frozen=True)
class Case:
    seed: int
    xml: bytes
    features: frozenset[str]
    now_s: int = NOW_S


def generate(seed: int) -> Case:
    """The random CIB of ``seed`` (bytes, pretty-printed) and the features it uses."""
    config = build(seed, NOW_S)
    cib = render(config)
    xml = etree.tostring(cib, pretty_print=True, encoding="UTF-8", xml_declaration=False)
    return Case(seed, xml, frozenset(config.features))
