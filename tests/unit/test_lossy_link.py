"""A lossy link is not a dead node (issue 13, item 4).

20 % of the datagrams to and from the DC are lost, with a 1 s deadtime and 200 ms
heartbeats: five losses in a row happen every few minutes, and without a second opinion
the DC declared a healthy peer dead and fenced it. Heartbeats now say how long ago their
sender heard each peer; a peer another member still hears is only suspect.
"""

from __future__ import annotations

import pytest

from vigil.core.events import Command, Log

from .test_dc_fenced_by_peer import FencingSim, add_fence_device

TICK_MS = FencingSim.TICK_MS


class ViewSim(FencingSim):
    def __init__(self) -> None:
        super().__init__(["ok"] * 20, fence_ms=100, size=5)
        self.losses: list[tuple[int, int, str]] = []  # (at_ms, observer, log line)

    def _do(self, src: int, cmd: Command) -> None:
        if isinstance(cmd, Log) and cmd.text.startswith("view changed") and " lost" in cmd.text:
            self.losses.append((self.now_ms, src, cmd.text))
        super()._do(src, cmd)


def lossy_cluster(seed: int) -> ViewSim:
    sim = ViewSim()
    sim.rng.seed(seed)
    sim.run(3000)
    add_fence_device(sim)
    sim.run(2000)
    sim.net.delay_ms = (0, 20)
    sim.net.node_loss = {1: 0.2}
    return sim


@pytest.mark.parametrize("seed", range(2))
def test_ten_minutes_of_20_percent_loss_on_the_dcs_link_harm_nobody(seed: int) -> None:
    sim = lossy_cluster(seed)
    sim.run(600_000)
    assert sim.fences == [], f"healthy nodes fenced: {sim.fences}"
    assert sim.losses == [], f"healthy nodes declared dead: {sim.losses[:3]}"
    assert sim.dcs() == {n: 1 for n in range(1, 6)}


def test_a_node_that_really_dies_is_still_lost_within_the_deadtime() -> None:
    sim = lossy_cluster(0)
    sim.run(5000)
    killed_ms = sim.now_ms
    sim.kill(4)
    sim.run(3000)
    seen = {observer: at for at, observer, text in sim.losses if "node4" in text}
    assert set(seen) == {1, 2, 3, 5}, sim.losses
    assert max(seen.values()) - killed_ms <= 1000 + 200 + TICK_MS, seen
    assert [f[1] for f in sim.fences] == ["node4"], sim.fences

