"""Metrics: the text exposition of the status view, and the HTTP endpoint's rules."""

import asyncio
import re

import pytest

from vigil.io import metrics_http
from vigil.io.metrics_http import MetricsServer
from vigil.io.metrics_text import render

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL}(?:,{LABEL})*)?\}})? (\S+)$")
LABEL_PAIRS = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def status(**over):
    base = {
        "cluster_name": "demo", "node": "node1", "dc": "node1", "quorate": True,
        "version": [0, 7, 12], "dc_state": "idle",
        "nodes": [
            {"name": "node1", "id": 1, "online": True, "standby": False,
             "maintenance": False, "unclean": False},
            {"name": "node2", "id": 2, "online": True, "standby": True,
             "maintenance": False, "unclean": False},
            {"name": "node3", "id": 3, "online": False, "standby": False,
             "maintenance": False, "unclean": True},
        ],
        "resources": [
            {"id": "web", "class": "ocf", "provider": "vigil", "type": "http",
             "role": "Started", "nodes": ["node2"], "roles": {"node2": "Started"},
             "failed": False, "managed": True},
            {"id": "db", "class": "ocf", "provider": "pacemaker", "type": "Stateful",
             "role": "Promoted", "nodes": ["node1", "node2"],
             "roles": {"node1": "Promoted", "node2": "Unpromoted"}, "failed": False,
             "managed": True},
            {"id": "off", "class": "ocf", "provider": "vigil", "type": "Dummy",
             "role": "Failed", "nodes": [], "roles": {}, "failed": True, "managed": False},
        ],
        "failed_actions": [{"rsc": "off", "op": "start", "interval_ms": 0, "node": "node1",
                            "rc": 1, "op_status": 0, "reason": "boom",
                            "last_rc_change": 1}],
        "fencing": {"pending": [], "failed": ["node3"],
                    "last": [{"target": "node3", "action": "reboot", "state": "failed",
                              "device": "f1", "origin": "node1", "requested": 1.5,
                              "completed": 1700000000.25}]},
        "counters": {"packets_received": 10, "packets_sent": 12, "packets_dropped_auth": 3,
                     "packets_dropped_malformed": 4, "packets_dropped_replay": 0,
                     "packets_dropped_size": 1, "messages_dropped_unreachable": 2,
                     "messages_dropped_stale": 5},
    }
    base.update(over)
    return base


def parse(text):
    """{family: {"help", "type", "samples": [(name, {label: value}, float)]}}; asserts
    the format rules on the way."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    families = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and name not in families, line
            assert help_text, f"{name} has an empty HELP"
            current = families[name] = {"help": help_text, "type": None, "samples": []}
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert current is families.get(name) and current["type"] is None, line
            assert kind in ("gauge", "counter"), line
            current["type"] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.groups()
            assert current is not None and name == list(families)[-1], \
                f"{name} outside its family"
            pairs = LABEL_PAIRS.findall(labels or "")
            keys = [k for k, _ in pairs]
            assert len(keys) == len(set(keys)), line
            current["samples"].append((name, dict(pairs), float(value)))
    assert all(f["type"] for f in families.values())
    return families


def value(families, name, **labels):
    found = [v for _, ls, v in families[name]["samples"] if ls == labels]
    assert len(found) == 1, f"{name}{labels}: {families[name]['samples']}"
    return found[0]


def test_every_line_is_valid_exposition_with_help_and_type():
    fams = parse(render(status()))
    for name in ("vigil_up", "vigil_quorate", "vigil_is_dc", "vigil_members",
                 "vigil_nodes_configured", "vigil_node_online", "vigil_node_unclean",
                 "vigil_resources_active", "vigil_resource_running", "vigil_failed_actions",
                 "vigil_fencing_failed", "vigil_fencing_pending", "vigil_cib_epoch",
                 "vigil_packets_total", "vigil_packets_dropped_total",
                 "vigil_messages_dropped_total"):
        assert name in fams, name
    for name, fam in fams.items():
        assert fam["type"] == ("counter" if name.endswith("_total") else "gauge"), name


def test_values_follow_the_status_view():
    fams = parse(render(status()))
    assert value(fams, "vigil_up") == 1
    assert value(fams, "vigil_quorate") == 1 and value(fams, "vigil_is_dc") == 1
    assert value(fams, "vigil_members") == 2 and value(fams, "vigil_nodes_configured") == 3
    assert value(fams, "vigil_node_online", node="node3") == 0
    assert value(fams, "vigil_node_unclean", node="node3") == 1
    assert value(fams, "vigil_node_standby", node="node2") == 1
    assert value(fams, "vigil_resources_configured") == 3
    assert value(fams, "vigil_resources_active") == 2
    assert value(fams, "vigil_resource_running", resource="db", node="node1",
                 role="Promoted") == 1
    assert value(fams, "vigil_resource_running", resource="db", node="node2",
                 role="Unpromoted") == 1
    assert len(fams["vigil_resource_running"]["samples"]) == 3
    assert value(fams, "vigil_resource_failed", resource="off") == 1
    assert value(fams, "vigil_resource_managed", resource="off") == 0
    assert value(fams, "vigil_failed_actions") == 1
    assert value(fams, "vigil_fencing_failed") == 1 and value(fams, "vigil_fencing_pending") == 0
    assert value(fams, "vigil_fencing_last_completed_seconds", target="node3",
                 state="failed") == 1700000000.25
    assert [value(fams, f"vigil_cib_{p}") for p in ("admin_epoch", "epoch", "num_updates")
            ] == [0, 7, 12]
    assert value(fams, "vigil_dc_state", state="idle") == 1
    assert value(fams, "vigil_packets_total", kind="received") == 10
    assert value(fams, "vigil_packets_total", kind="sent") == 12
    for reason, n in (("auth", 3), ("malformed", 4), ("replay", 0), ("size", 1)):
        assert value(fams, "vigil_packets_dropped_total", reason=reason) == n
    assert value(fams, "vigil_messages_dropped_total", reason="unreachable") == 2
    assert value(fams, "vigil_messages_dropped_total", reason="stale") == 5


def test_a_member_without_dc_or_resources_renders_empty_families():
    fams = parse(render(status(dc=None, quorate=False, dc_state=None, resources=[],
                               failed_actions=[], fencing={}, counters={})))
    assert value(fams, "vigil_has_dc") == 0 and value(fams, "vigil_is_dc") == 0
    assert fams["vigil_resource_running"]["samples"] == []
    assert fams["vigil_dc_state"]["samples"] == []
    assert fams["vigil_packets_dropped_total"]["samples"] == []
    assert value(fams, "vigil_fencing_pending") == 0


def test_unknown_counters_are_still_exported_with_valid_names():
    fams = parse(render(status(counters={"packets_dropped_version": 2, "odd-name.x": 3})))
    assert value(fams, "vigil_packets_dropped_total", reason="version") == 2
    assert value(fams, "vigil_odd_name_x_total") == 3


def test_label_values_are_escaped():
    nasty = 'we"b\\1\nx'
    text = render(status(resources=[{"id": nasty, "role": "Started", "nodes": ["node1"],
                                     "roles": {}, "failed": False}],
                         cluster_name='c"\\'))
    assert 'resource="we\\"b\\\\1\\nx"' in text
    assert 'cluster="c\\"\\\\"' in text
    fams = parse(text)
    assert value(fams, "vigil_resource_running", resource='we\\"b\\\\1\\nx', node="node1",
                 role="Started") == 1


# ---------------------------------------------------------------------- the endpoint
async def exchange(server, data, close_write=True):
    host, port = server.server.sockets[0].getsockname()[:2]
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    if close_write:
        writer.write_eof()
    chunks = []
    try:  # a server that closes with unread input resets; what it sent first still counts
        while chunk := await asyncio.wait_for(reader.read(65536), 10):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    writer.close()
    return b"".join(chunks)


def run_server(source, requests):
    async def main():
        server = MetricsServer(("127.0.0.1", 0), source)
        await server.start()
        try:
            return [await exchange(server, r, close) for r, close in requests]
        finally:
            await server.close()
    return asyncio.run(main())


def code(answer):
    return int(answer.split(b" ", 2)[1])


def test_get_metrics_and_head_answer_200_with_the_exposition_type():
    text = render(status())
    get, head, http10 = run_server(lambda: text, [
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", True),
        (b"HEAD /metrics HTTP/1.1\r\n\r\n", True),
        (b"GET /metrics?x=1 HTTP/1.0\n\n", True),
    ])
    head_part, _, body = get.partition(b"\r\n\r\n")
    assert code(get) == 200 and body.decode() == text
    assert b"Content-Type: text/plain; version=0.0.4; charset=utf-8" in head_part
    assert f"Content-Length: {len(body)}".encode() in head_part
    assert code(head) == 200 and head.endswith(b"\r\n\r\n")
    assert code(http10) == 200


@pytest.mark.parametrize("request_bytes, expected", [
    (b"GET / HTTP/1.1\r\n\r\n", 404),
    (b"GET /metricsx HTTP/1.1\r\n\r\n", 404),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"GET metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /m\xff HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\n" + b"X-A: " + b"a" * 20000 + b"\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n", 400),  # closed before the head ended
    (b"\x00\x01\x02\xff" * 100, 400),
])
def test_bad_requests_get_an_error_and_the_server_keeps_serving(request_bytes, expected):
    bad, good = run_server(lambda: "vigil_up 1\n", [
        (request_bytes, True), (b"GET /metrics HTTP/1.1\r\n\r\n", True)])
    assert code(bad) == expected, bad[:200]
    assert code(good) == 200


def test_a_silent_client_times_out_and_a_failing_renderer_answers_500(monkeypatch):
    monkeypatch.setattr(metrics_http, "READ_TIMEOUT_S", 0.2)

    def broken():
        raise RuntimeError("boom")

    slow, failed = run_server(broken, [(b"GET /metr", False),
                                       (b"GET /metrics HTTP/1.1\r\n\r\n", True)])
    assert code(slow) == 408
    assert code(failed) == 500


def test_a_taken_address_is_an_error_naming_metrics_listen():
    async def main():
        first = MetricsServer(("127.0.0.1", 0), lambda: "")
        await first.start()
        port = first.server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(OSError, match=f"metrics_listen 127.0.0.1:{port}"):
                await MetricsServer(("127.0.0.1", port), lambda: "").start()
        finally:
            await first.close()

    asyncio.run(main())
