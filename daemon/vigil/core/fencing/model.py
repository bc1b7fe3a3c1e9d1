"""Fencing model: devices, topology, which device can fence whom (pure).

The fencer shell (``vigil.io.fencer``) runs the agents; every decision is made here.

Devices
-------
A device is a ``stonith:`` primitive: its instance attributes go to the agent on stdin,
except Pacemaker's ``pcmk_*`` options, which steer the fencer:

* ``pcmk_host_list`` ("node1 node2", commas and semicolons also separate) and
  ``pcmk_host_map`` ("node1:plug1;node2:plug2,plug3", ``=`` also accepted; entries split
  on ``;`` or spaces, a comma stays inside a plug list) name the nodes a device can fence;
  the map also gives the plug (port) of each node (default: its name).
* ``pcmk_host_check``: ``static-list`` (the two lists), ``dynamic-list`` (ask the agent
  with ``action=list`` and look for the plug or node name in its output), ``status`` (ask
  ``action=status`` for the plug: rc 0 on or 2 off mean it knows it), ``none`` (any node).
  Default, as Pacemaker: static-list when a list or map is set, else dynamic-list when the
  agent's meta-data has a ``list`` action, else status when it has ``status``, else none.
* ``pcmk_host_argument``: the stdin key carrying the plug; default ``plug`` or ``port``
  (whichever the agent's meta-data declares), ``none`` when it declares neither. A plug or
  port set as an instance attribute is never overridden.
* ``pcmk_<action>_timeout`` (default 60 s) bounds the action on that device, retries
  included; ``pcmk_<action>_retries`` (default 2) is how many times a failed action is run
  again while time remains; ``pcmk_<action>_action`` sends another action name.
* ``pcmk_delay_base`` plus a random share of ``pcmk_delay_max`` is waited before a device's
  first off or reboot of a request (breaks fence races between halves of a split cluster).

Topology
--------
When ``fencing-topology`` has levels for the target (by ``target`` name or
``target-pattern`` regex), they are tried in ``index`` order; a level succeeds when every
device in it succeeds. A reboot through a level of several devices is done as "off on
each, then on on each" so that no power supply comes back before the last one is off
(a failed "on" is noted, the node is fenced anyway). Without levels, every device that can
fence the target is a level of its own, highest ``priority`` first, then by id.

The cluster's fencing history is :mod:`.history`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.core.durations import parse_duration_ms

FENCE_ACTIONS = ("reboot", "off", "on")
DEFAULT_TIMEOUT_MS = 60_000
DEFAULT_RETRIES = 2
HOST_CHECKS = ("static-list", "dynamic-list", "status", "none")
_SEPARATORS = re.compile(r"[\s,;]+")
@dataclass(frozen=True)
class FenceDevice:
    id: str
    agent: str  # "fence_ipmilan": the type of a stonith: primitive
    params: tuple[tuple[str, str], ...] = ()  # instance attributes, pcmk_* included
    priority: int = 0

    def param(self, name: str, default: str | None = None) -> str | None:
        return dict(self.params).get(name, default)

    @property
    def host_list(self) -> frozenset[str]:
        return frozenset(n for n in _SEPARATORS.split(self.param("pcmk_host_list") or "") if n)

    @property
    def host_map(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for item in re.split(r"[\s;]+", self.param("pcmk_host_map") or ""):
            node, sep, plug = item.replace("=", ":").partition(":")
            if node and sep:
                result[node] = plug or node
        return result

    def plug_for(self, target: str) -> str:
        return self.host_map.get(target, target)

    def host_check(self, agent_actions: frozenset[str]) -> str:
        explicit = self.param("pcmk_host_check")
        if explicit in HOST_CHECKS:
            return explicit
        if self.host_list or self.host_map:
            return "static-list"
        if "list" in agent_actions:
            return "dynamic-list"
        if "status" in agent_actions:
            return "status"
        return "none"

    def host_argument(self, agent_params: frozenset[str]) -> str | None:
        explicit = self.param("pcmk_host_argument")
        if explicit:
            return None if explicit == "none" else explicit
        for name in ("plug", "port"):
            if name in agent_params:
                return name
        return None

    def timeout_ms(self, action: str, default_ms: int = DEFAULT_TIMEOUT_MS) -> int:
        return parse_duration_ms(self.param(f"pcmk_{action}_timeout"), default_ms)

    def retries(self, action: str) -> int:
        """How many times a failed action is run again on this device (within its timeout)."""
        text = (self.param(f"pcmk_{action}_retries") or "").strip()
        return int(text) if text.isdigit() else DEFAULT_RETRIES

    def agent_action(self, action: str) -> str:
        return self.param(f"pcmk_{action}_action") or action

    def delay_ms(self) -> tuple[int, int]:
        """(base, max): wait base plus a random share of max before fencing."""
        return (
            parse_duration_ms(self.param("pcmk_delay_base"), 0),
            parse_duration_ms(self.param("pcmk_delay_max"), 0),
        )

    def agent_params(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, v) for k, v in self.params if not k.startswith("pcmk_") and k != "action")


@dataclass(frozen=True)
class FenceLevel:
    index: int
    devices: tuple[str, ...]
    target: str = ""
    target_pattern: str = ""

    def matches(self, node: str) -> bool:
        if self.target:
            return node == self.target
        if self.target_pattern:
            try:
                return re.fullmatch(self.target_pattern, node) is not None
            except re.error:
                return False
        return False


@dataclass(frozen=True)
class FenceRequest:
    target: str
    action: str = "reboot"
    origin: str = ""  # the node that asked
    requested: float = 0.0  # epoch seconds


@dataclass(frozen=True)
class Attempt:
    """One run of a fence agent."""

    device: str
    action: str
    rc: int | None
    ok: bool
    reason: str
    exec_ms: int


@dataclass(frozen=True)
class FenceResult:
    target: str
    action: str
    ok: bool
    device: str  # the device(s) that fenced, or the last one tried ("" when none could)
    reason: str
    attempts: tuple[Attempt, ...] = field(default=(), compare=False)


# --- agent protocol -----------------------------------------------------------------------


def agent_stdin(
    device: FenceDevice, action: str, target: str | None, host_argument: str | None
) -> bytes:
    """The ``key=value`` lines a fence agent reads on stdin."""
    lines = [f"action={device.agent_action(action)}"]
    params = device.agent_params()
    lines += [f"{k}={v}" for k, v in params if "\n" not in k + v]
    if target is not None:
        configured = {k for k, _ in params}
        if host_argument and host_argument not in configured:
            lines.append(f"{host_argument}={device.plug_for(target)}")
        lines.append(f"nodename={target}")
    return ("\n".join(lines) + "\n").encode()


def action_ok(action: str, rc: int | None) -> bool:
    """Exit codes: 0 is success; ``status`` also answers 2 for "off" (a known plug)."""
    if action == "status":
        return rc in (0, 2)
    return rc == 0


def parse_metadata(xml: str) -> tuple[frozenset[str], frozenset[str]]:
    """(action names, parameter names) from a fence agent's meta-data; empty when unreadable."""
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError:
        return frozenset(), frozenset()
    actions = frozenset(a.get("name", "") for a in root.iter("action")) - {""}
    params = frozenset(p.get("name", "") for p in root.iter("parameter")) - {""}
    return actions, params


def parse_list_output(text: str) -> frozenset[str]:
    """Names in ``action=list`` output: one ``plug[,alias]`` per line; every word counts."""
    return frozenset(w for line in text.splitlines() for w in _SEPARATORS.split(line) if w)


def can_fence(
    device: FenceDevice,
    target: str,
    mode: str,
    listed: frozenset[str] | None = None,
    status_rc: int | None = None,
) -> tuple[bool, str]:
    """Whether ``device`` can fence ``target`` under ``mode``, and why (for logs and errors).

    ``listed`` is the parsed list output (dynamic-list), ``status_rc`` the status answer."""
    if mode == "none":
        return True, f"{device.id}: host check none"
    if mode == "static-list":
        if target in device.host_list or target in device.host_map:
            return True, f"{device.id}: {target} in its host list/map"
        return False, f"{device.id}: {target} not in pcmk_host_list/pcmk_host_map"
    if mode == "dynamic-list":
        if listed is None:
            return False, f"{device.id}: its list action failed"
        if device.plug_for(target) in listed or target in listed:
            return True, f"{device.id}: lists {device.plug_for(target)}"
        return False, f"{device.id}: does not list {device.plug_for(target)}"
    if mode == "status":
        ok = status_rc in (0, 2)
        return ok, f"{device.id}: status of {device.plug_for(target)} answered rc {status_rc}"
    return False, f"{device.id}: unknown pcmk_host_check {mode!r}"


# --- topology -----------------------------------------------------------------------------


def plan(
    target: str,
    devices: Mapping[str, FenceDevice],
    levels: Sequence[FenceLevel],
    capable: Iterable[str],
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The levels to try, in order, and notes about what was left out.

    ``capable`` is the ids of devices that can fence ``target`` (used without topology)."""
    mine = sorted((lv for lv in levels if lv.matches(target)), key=lambda lv: lv.index)
    notes: list[str] = []
    if mine:
        chosen = []
        for lv in mine:
            missing = [d for d in lv.devices if d not in devices]
            if missing or not lv.devices:
                notes.append(f"level {lv.index} for {target}: unknown device(s) {missing}")
            else:
                chosen.append(lv.devices)
        return tuple(chosen), tuple(notes)
    ordered = sorted(
        (devices[d] for d in set(capable) if d in devices), key=lambda d: (-d.priority, d.id)
    )
    return tuple((d.id,) for d in ordered), ()


def level_steps(level: Sequence[str], action: str) -> tuple[tuple[str, str], ...]:
    """(device, action) in execution order: a multi-device reboot is all off, then all on."""
    if action == "reboot" and len(level) > 1:
        return tuple((d, "off") for d in level) + tuple((d, "on") for d in level)
    return tuple((d, action) for d in level)


# --- CIB ----------------------------------------------------------------------------------


def devices_from_xml(resources: ET.Element | Any) -> dict[str, FenceDevice]:
    """Every ``<primitive class="stonith">`` under ``resources`` (ElementTree or lxml)."""
    found: dict[str, FenceDevice] = {}
    for prim in resources.iter("primitive"):
        rid = prim.get("id")
        if prim.get("class") != "stonith" or not isinstance(rid, str) or not rid:
            continue
        params = _nvpairs(prim, "instance_attributes")
        meta = dict(_nvpairs(prim, "meta_attributes"))
        priority = int(meta["priority"]) if meta.get("priority", "").lstrip("-").isdigit() else 0
        found[rid] = FenceDevice(rid, str(prim.get("type", "")), params, priority)
    return found


def levels_from_xml(topology: ET.Element | Any | None) -> tuple[FenceLevel, ...]:
    """The ``<fencing-level>`` elements of ``<fencing-topology>``."""
    if topology is None:
        return ()
    levels = []
    for el in topology.iter("fencing-level"):
        index = el.get("index", "")
        if not index.isdigit():
            continue
        devices = tuple(d for d in re.split(r"[\s,]+", el.get("devices", "")) if d)
        levels.append(
            FenceLevel(int(index), devices, el.get("target", ""), el.get("target-pattern", ""))
        )
    return tuple(levels)


def _nvpairs(prim: Any, section: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for block in prim.findall(section):
        for nv in block.findall("nvpair"):
            if nv.get("name") is not None:
                pairs.append((nv.get("name"), nv.get("value", "")))
    return tuple(sorted(pairs))
