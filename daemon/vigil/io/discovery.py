"""Zeroconf advertisement (``_vigil._udp.local.``) and browsing for ``vigilctl discover``.

Discovery only tells who is out there; it never admits a node. Membership still needs
packets sealed with the cluster's authkey.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from zeroconf import IPVersion, ServiceInfo, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from .. import wire
from ..config import Config

log = logging.getLogger("vigil.discovery")
SERVICE = "_vigil._udp.local."


def _interfaces(address: str) -> list[str] | Any:
    from zeroconf import InterfaceChoice

    return InterfaceChoice.All if address in ("0.0.0.0", "") else [address]


class Advertiser:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.zc: AsyncZeroconf | None = None
        self.info: ServiceInfo | None = None

    async def start(self) -> None:
        cfg = self.cfg
        # zeroconf logs every failed send with a traceback (multicast blocked, e.g. in
        # unicast deployments); one warning from us is enough
        logging.getLogger("zeroconf").setLevel(logging.ERROR)
        self.info = ServiceInfo(
            SERVICE, f"{cfg.cluster_name}-{cfg.node_name}.{SERVICE}",
            addresses=[socket.inet_aton(cfg.me.address)], port=cfg.port,
            properties={"cluster": cfg.cluster_name, "node": cfg.node_name,
                        "id": str(cfg.me.id), "proto": str(wire.VERSION),
                        "transport": cfg.transport_mode},
            server=f"{cfg.node_name}.{cfg.cluster_name}.local.")
        try:
            self.zc = AsyncZeroconf(interfaces=_interfaces(cfg.interface),
                                    ip_version=IPVersion.V4Only)
            await self.zc.async_register_service(self.info, allow_name_change=True)
        except (OSError, Exception) as exc:  # discovery is a convenience, never fatal
            log.warning("zeroconf advertisement unavailable: %s", exc)
            self.zc = None

    async def close(self) -> None:
        if self.zc is not None:
            try:
                if self.info is not None:
                    await self.zc.async_unregister_service(self.info)
            finally:
                await self.zc.async_close()


async def browse(timeout_s: float, interface: str = "0.0.0.0") -> list[dict[str, Any]]:
    """Every vigil node that answers within ``timeout_s``, sorted by cluster and node."""
    zc = AsyncZeroconf(interfaces=_interfaces(interface), ip_version=IPVersion.V4Only)
    names: set[str] = set()

    def changed(zeroconf: Any, service_type: str, name: str,
                state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            names.add(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE], handlers=[changed])
    await asyncio.sleep(timeout_s)
    found = []
    for name in sorted(names):
        info = AsyncServiceInfo(SERVICE, name)
        if not await info.async_request(zc.zeroconf, 1000):
            continue
        props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        found.append({
            "cluster": props.get("cluster"), "node": props.get("node"),
            "id": int(props["id"]) if props.get("id", "").isdigit() else None,
            "protocol": props.get("proto"), "transport": props.get("transport"),
            "addresses": info.parsed_addresses(), "port": info.port,
        })
    await browser.async_cancel()
    await zc.async_close()
    return sorted(found, key=lambda d: (str(d["cluster"]), str(d["node"])))
