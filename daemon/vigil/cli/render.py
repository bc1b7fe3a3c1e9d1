"""Human views of status objects (crm_mon style)."""

from __future__ import annotations

from typing import Any


def status_text(st: dict[str, Any]) -> str:
    lines = [f"Cluster: {st['cluster_name']}  (seen from {st.get('node', '?')})"]
    dc = st.get("dc")
    quorum = "with quorum" if st.get("quorate") else "WITHOUT quorum"
    lines.append(f"  * Current DC: {dc or 'NONE'} - partition {quorum}")
    version = st.get("version") or []
    lines.append(f"  * CIB version: {'.'.join(map(str, version))}")
    nodes = st.get("nodes", [])
    lines.append(f"  * {len(nodes)} nodes configured, {len(st.get('resources', []))} resources")
    lines.append("")
    lines.append("Node List:")
    online = [n["name"] for n in nodes if n["online"] and not n["standby"]]
    if online:
        lines.append(f"  * Online: [ {' '.join(online)} ]")
    for n in nodes:
        if n["standby"] and n["online"]:
            lines.append(f"  * Node {n['name']}: standby")
        elif not n["online"]:
            state = "UNCLEAN (offline)" if n["unclean"] else "OFFLINE"
            lines.append(f"  * Node {n['name']}: {state}")
    for n in nodes:
        if n.get("disk_error"):
            lines.append(f"  * Node {n['name']}: CANNOT SAVE THE CIB ({n['disk_error']})")
        if n.get("fd_error"):
            lines.append(f"  * Node {n['name']}: OUT OF FILE DESCRIPTORS ({n['fd_error']})")
    lines.append("")
    lines.append("Full List of Resources:")
    if not st.get("resources"):
        lines.append("  * No resources")
    for r in st.get("resources", []):
        agent = ":".join(x for x in (r["class"], r.get("provider"), r["type"]) if x)
        where = " ".join(r["nodes"])
        state = r["role"] + (f" {where}" if where else "")
        lines.append(f"  * {r['id']}\t({agent}):\t {state}")
    failed = st.get("failed_actions") or []
    if failed:
        lines.append("")
        lines.append("Failed Resource Actions:")
        for f in failed:
            reason = f" '{f['reason']}'" if f.get("reason") else ""
            lines.append(f"  * {f['rsc']}_{f['op']}_{f['interval_ms']} on {f['node']} "
                         f"returned rc {f['rc']}{reason}")
    return "\n".join(lines)


def fence_line(e: dict[str, Any]) -> str:
    import time as _time

    when = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(e["requested"]))
    took = (f" in {e['completed'] - e['requested']:.2f} s"
            if e.get("completed") is not None else "")
    device = f" with {e['device']}" if e.get("device") else ""
    reason = f" ({e['reason']})" if e.get("reason") and e["state"] == "failed" else ""
    return (f"{when} {e['action']} of {e['target']} asked by {e['origin']}: "
            f"{e['state']}{device}{took}{reason}")
