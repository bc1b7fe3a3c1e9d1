"""The seed scenario on loopback: the dead node is fenced first, then its web server moves."""

import time
import urllib.request

import pytest

from vigil.client import call
from vigil.core import cib as C
from vigil.errors import VigilError

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def get(url):
    with urllib.request.urlopen(url, timeout=1.0) as resp:
        return resp.read().decode()


def fence_device_xml(cluster):
    host_map = ";".join(f"{n}:{cluster.config_path(n)}" for n in cluster.names)
    return C.to_bytes(C.primitive_element(
        "fence-loop", "stonith:fence_vigil_loopback",
        {"pcmk_host_map": host_map}, None,
        [{"name": "monitor", "interval": "60s"}])).decode()


def test_lost_node_is_fenced_before_its_resource_moves(cluster3, tmp_path):
    c = cluster3
    c.wait_quorate()
    docroot = tmp_path / "www"
    docroot.mkdir()
    (docroot / "index.html").write_text("fenced first\n")
    port = c.port + 2
    c.ctl("node1", "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
    c.ctl("node2", "resource_create", id="web", agent="ocf:vigil:http",
          params={"docroot": str(docroot), "port": str(port), "ip": "127.0.0.1"},
          ops=[{"name": "monitor", "interval": "1s"}])
    victim = c.wait(lambda: c.where("node1", "web"), 30, "web to start")[0]
    assert get(f"http://127.0.0.1:{port}/") == "fenced first\n"
    survivor = next(n for n in c.names if n != victim)

    t0 = time.time()
    c.poweroff(victim)
    moved = c.wait(lambda: [n for n in c.where(survivor, "web") if n != victim], 30,
                   "web to run elsewhere after fencing")
    assert get(f"http://127.0.0.1:{port}/") == "fenced first\n"

    history = c.ctl(survivor, "fence_history")
    fenced = [e for e in history if e["target"] == victim and e["state"] == "success"]
    assert fenced, history
    entry = fenced[-1]
    assert entry["device"] == "fence-loop" and entry["action"] == "reboot"
    assert t0 <= entry["requested"] <= entry["completed"]
    st = c.status(survivor)
    start = [e for e in st["resources"] if e["id"] == "web"][0]
    assert start["nodes"] == moved
    # the web server's start on the survivor came after the fencing was confirmed
    xml = C.parse(c.ctl(survivor, "cib_get", scope="status")["xml"])
    started = [op for op in xml.iter("lrm_rsc_op")
               if op.get("operation_key") == "web_start_0" and op.get("on_node") == moved[0]]
    assert started and int(started[0].get("last-rc-change")) >= int(entry["completed"])
    res = c.vigilctl(survivor, "fence", "history")
    assert res.returncode == 0 and f"reboot of {victim}" in res.stdout and "success" in res.stdout


def test_failing_fence_device_blocks_recovery_and_says_why(cluster3, tmp_path):
    c = cluster3
    c.wait_quorate()
    c.ctl("node1", "property_set", name="stonith-max-attempts", value="2")
    # fence_dummy type=fail never succeeds: the lost node must stay unclean, its resource
    # must not be started elsewhere
    dev = C.primitive_element("fence-broken", "stonith:fence_dummy",
                              {"type": "fail", "power_timeout": "1",
                               "pcmk_host_list": " ".join(c.names),
                               "pcmk_off_retries": "1", "pcmk_reboot_retries": "1"})
    c.ctl("node1", "cib_put", section="resources", xml=C.to_bytes(dev).decode(), mode="create")
    c.ctl("node1", "resource_create", id="d", agent="ocf:vigil:Dummy")
    victim = c.wait(lambda: c.where("node1", "d"), 30, "d to start")[0]
    survivor = next(n for n in c.names if n != victim)
    c.poweroff(victim)

    def failed_twice():
        return len([e for e in c.ctl(survivor, "fence_history")
                    if e["target"] == victim and e["state"] == "failed"]) >= 2

    c.wait(failed_twice, 90, "two failed fencing attempts")
    time.sleep(3)
    st = c.status(survivor)
    node = [n for n in st["nodes"] if n["name"] == victim][0]
    assert node["unclean"] and not node["online"]
    assert victim in st["fencing"]["failed"]
    assert c.where(survivor, "d") in ([], [victim]), "not recovered without fencing"
    attempts = [e for e in c.ctl(survivor, "fence_history") if e["target"] == victim]
    assert len(attempts) == 2, "stonith-max-attempts caps the retries"


def test_graceful_stop_moves_resources_and_is_not_fenced(cluster3):
    c = cluster3
    c.wait_quorate()
    c.ctl("node1", "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
    c.ctl("node1", "resource_create", id="d", agent="ocf:vigil:Dummy")
    holder = c.wait(lambda: c.where("node1", "d"), 30, "d to start")[0]
    c.stop(holder)  # SIGTERM: resources move away first, then the node leaves cleanly
    survivor = next(n for n in c.names if n != holder)
    moved = c.wait(lambda: [n for n in c.where(survivor, "d") if n != holder], 10,
                   "d to run elsewhere")
    assert moved and holder not in moved

    def left_cleanly():
        node = [n for n in c.status(survivor)["nodes"] if n["name"] == holder][0]
        return not node["online"] and not node["unclean"]

    c.wait(left_cleanly, 10, f"{holder} to be offline and clean")
    time.sleep(2)
    assert c.ctl(survivor, "fence_history") == [], "a clean shutdown is never fenced"
    assert [n for n in c.where(survivor, "d")] == moved, "d did not move again"


def test_fence_device_monitor_keeps_running_and_reports_a_broken_device(cluster3, tmp_path):
    """A fence device's recurring monitor runs on its interval, not once: when the device
    breaks later, the failure shows up in status (as Pacemaker's fenced reports it)."""
    c = cluster3
    c.wait_quorate()
    status_file = tmp_path / "power"  # fence_dummy type=file: absent reads "off", fine
    dev = C.primitive_element("fence-watch", "stonith:fence_dummy",
                              {"type": "file", "status_file": str(status_file),
                               "pcmk_host_list": " ".join(c.names)},
                              None, [{"name": "monitor", "interval": "1s"}])
    c.ctl("node1", "cib_put", section="resources", xml=C.to_bytes(dev).decode(), mode="create")
    c.wait(lambda: c.where("node1", "fence-watch"), 30, "the fence device to start")
    time.sleep(2.5)
    assert not c.status("node1")["failed_actions"]
    status_file.write_text("garbage")  # the device now answers nonsense to every status

    def failed():
        return [f for f in c.status("node1")["failed_actions"] if f["rsc"] == "fence-watch"]

    found = c.wait(failed, 20, "the broken fence device to show as a failed action")
    assert found[0]["op"] == "monitor" and found[0]["interval_ms"] == 1000


def test_a_member_fenced_on_request_is_fenced_once(cluster3):
    """The node leaving the view after a manual fencing is that fencing's effect: no second
    fencing follows (it would kill the node again as it reboots)."""
    c = cluster3
    dc = c.wait_quorate()
    c.ctl("node1", "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
    c.wait(lambda: c.where(dc, "fence-loop"), 20, "the fence device to start")
    target = next(n for n in c.names if n != dc)
    entry = c.ctl(dc, "fence", target=target, action="reboot", confirm=True)
    assert entry["state"] == "success" and entry["target"] == target
    c.procs.pop(target, None)  # fence_vigil_loopback killed it
    c.wait(lambda: target not in [n["name"] for n in c.status(dc)["nodes"] if n["online"]],
           10, f"{target} to leave the view")
    time.sleep(4)  # several deadtimes: a second fencing would have happened by now
    history = [e for e in c.ctl(dc, "fence_history") if e["target"] == target]
    assert len(history) == 1, history
    node = [n for n in c.status(dc)["nodes"] if n["name"] == target][0]
    assert not node["unclean"]
    c.start([target])  # it "reboots" and rejoins, and is not fenced again
    c.wait_quorate()
    assert len([e for e in c.ctl(dc, "fence_history") if e["target"] == target]) == 1


def test_the_dc_is_fenced_by_the_node_asked_and_only_once(cluster3):
    """`vigilctl fence DC` through another node: that node carries the fencing out (the DC
    does not fence itself, as in Pacemaker); the next DC does not fence it a second time,
    the old DC rejoins, and every node reports the same history."""
    c = cluster3
    dc = c.wait_quorate()
    c.ctl(dc, "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
    c.ctl(dc, "resource_create", id="d", agent="ocf:vigil:Dummy")
    call(c.socket(dc), "resource_move", id="d", node=dc)  # ctl() takes node= itself
    c.wait(lambda: c.where(dc, "d") == [dc], 30, "d to run on the DC")
    c.wait(lambda: c.where(dc, "fence-loop"), 20, "the fence device to start")
    asker = next(n for n in c.names if n != dc)
    others = [n for n in c.names if n != dc]

    entry = c.ctl(asker, "fence", target=dc, action="reboot", confirm=True)
    assert entry["state"] == "success" and entry["target"] == dc, entry
    assert entry["origin"] == asker and entry["device"] == "fence-loop", entry
    c.procs.pop(dc).wait(10)  # fence_vigil_loopback killed it
    new_dc = c.wait_quorate(others)
    assert new_dc != dc
    c.wait(lambda: [n for n in c.where(new_dc, "d") if n != dc], 30, "d to be recovered")
    time.sleep(4)  # several deadtimes: a second fencing would have happened by now
    for node in others:
        assert [e for e in c.ctl(node, "fence_history") if e["target"] == dc] == [entry]
        state = [n for n in c.status(node)["nodes"] if n["name"] == dc][0]
        assert not state["online"] and not state["unclean"], state

    c.start([dc])  # it "reboots" and rejoins, and is not fenced again
    assert c.wait_quorate() == new_dc
    c.wait(lambda: c.where(new_dc, "d") == [dc], 30, "d to move back to its preferred node")

    def same_history():
        histories = [c.ctl(n, "fence_history") for n in c.names]
        return histories if all(h == histories[0] for h in histories) else None

    histories = c.wait(same_history, 10, "every node to report the same fencing history")
    assert histories[0] == [entry], histories[0]
    executed = sum(c.log_path(n).read_text().count(f"fencing {dc} (reboot), asked by {asker}")
                   for n in c.names)
    assert executed == 1
    assert not any(f"fencing {dc} (reboot), asked by {n}" in c.log_path(n).read_text()
                   for n in c.names if n != asker)
    res = c.vigilctl(dc, "fence", "history")
    assert res.returncode == 0 and f"reboot of {dc}" in res.stdout and asker in res.stdout
    assert f"fencing {dc} (reboot) for the DC's own fencing" in c.log_path(asker).read_text()


def test_the_dc_asked_to_fence_itself_hands_the_fencing_to_a_peer(cluster3):
    c = cluster3
    dc = c.wait_quorate()
    c.ctl(dc, "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
    c.wait(lambda: c.where(dc, "fence-loop"), 20, "the fence device to start")
    others = [n for n in c.names if n != dc]
    with pytest.raises(VigilError):  # the DC is dead before the peer's answer reaches it
        c.ctl(dc, "fence", target=dc, action="reboot", confirm=True)
    c.procs.pop(dc).wait(10)
    c.wait_quorate(others)

    def fenced():
        found = [[e for e in c.ctl(n, "fence_history") if e["target"] == dc] for n in others]
        return found if all(f and f[-1]["state"] == "success" for f in found) else None

    histories = c.wait(fenced, 10, f"{dc}'s fencing to be recorded")
    assert histories[0] == histories[1] and len(histories[0]) == 1, histories
    assert histories[0][0]["origin"] == min(others), "the lowest-id other member fenced it"


STUCK_AGENT = """#!/bin/sh
# An OCF agent whose stop fails while $OCF_RESKEY_stuck exists (a resource that cannot be
# stopped: Pacemaker's answer is to fence its node). State in $OCF_RESKEY_state.
: "${OCF_RESKEY_state:?}"
case "$1" in
  meta-data) cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="stuck" version="1.0"><version>1.1</version>
<longdesc lang="en">Test agent whose stop can fail.</longdesc><shortdesc lang="en">stuck</shortdesc>
<parameters>
<parameter name="state" unique-group="state"><content type="string"/></parameter>
<parameter name="stuck"><content type="string"/></parameter>
</parameters>
<actions><action name="start" timeout="10s"/><action name="stop" timeout="10s"/>
<action name="monitor" timeout="10s" interval="10s"/><action name="meta-data" timeout="5s"/>
</actions></resource-agent>
XML
    exit 0;;
  start) touch "$OCF_RESKEY_state"; exit 0;;
  stop) [ -e "$OCF_RESKEY_stuck" ] && exit 1; rm -f "$OCF_RESKEY_state"; exit 0;;
  monitor) [ -e "$OCF_RESKEY_state" ] && exit 0; exit 7;;
  *) exit 3;;
esac
"""


def test_a_resource_that_cannot_stop_on_the_dc_gets_the_dc_fenced_by_a_peer(tmp_path):
    """The scheduler fences the node where a stop failed (on-fail=fence); that node is the
    DC, whose transition hands the fencing to a peer (as Pacemaker's fencer does). The DC
    is fenced once and the resource starts where it was moved."""
    from vigil.testing.loop import LoopCluster

    root = tmp_path / "agents"
    agent = root / "resource.d" / "test" / "stuck"
    agent.parent.mkdir(parents=True)
    agent.write_text(STUCK_AGENT)
    agent.chmod(0o755)
    stuck = tmp_path / "stuck"

    def add_root(node, cfg):
        cfg["agent_roots"] = [str(root)]

    c = LoopCluster(tmp_path / "cluster", size=3, config_hook=add_root)
    try:
        c.start()
        dc = c.wait_quorate()
        c.ctl(dc, "cib_put", section="resources", xml=fence_device_xml(c), mode="create")
        c.ctl(dc, "resource_create", id="s", agent="ocf:test:stuck",
              params={"state": str(tmp_path / "s.state"), "stuck": str(stuck)})
        call(c.socket(dc), "resource_move", id="s", node=dc)
        c.wait(lambda: c.where(dc, "s") == [dc], 30, "s to run on the DC")
        c.wait(lambda: c.where(dc, "fence-loop"), 20, "the fence device to start")
        others = [n for n in c.names if n != dc]
        stuck.touch()  # from now on s cannot stop
        call(c.socket(dc), "resource_move", id="s", node=others[-1])
        c.procs.pop(dc).wait(30)  # fenced: fence_vigil_loopback killed it
        new_dc = c.wait_quorate(others)
        stuck.unlink()
        c.wait(lambda: c.where(new_dc, "s") == [others[-1]], 30, "s to start where it moved")

        def fenced():
            found = [[e for e in c.ctl(n, "fence_history") if e["target"] == dc]
                     for n in others]
            return found if all(f and f[-1]["state"] == "success" for f in found) else None

        histories = c.wait(fenced, 10, f"{dc}'s fencing to be recorded")
        time.sleep(3)  # several deadtimes: a second fencing would have happened by now
        histories = [[e for e in c.ctl(n, "fence_history") if e["target"] == dc]
                     for n in others]
        assert histories[0] == histories[1] and len(histories[0]) == 1, histories
        assert histories[0][0]["origin"] == min(others), histories
        assert "the transition fences this node, the DC" in c.log_path(dc).read_text()
        state = [n for n in c.status(new_dc)["nodes"] if n["name"] == dc][0]
        assert not state["online"] and not state["unclean"], state
    finally:
        c.close()
