"""Issue 11, item 3: a judged page must not reach loopback by WebRTC (STUN over UDP, TURN over
TCP), past the request blocking; every attempt is recorded as a blocked request."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.browser import BrowserSession, browser_available

pytestmark = pytest.mark.skipif(
    browser_available() is None,
    reason="chromium not found (apt-get install chromium, or set CODECREW_CHROMIUM)",
)

# Gathers ICE candidates against our STUN (UDP) and TURN (TCP) listeners, from the page
# itself, from a same-origin iframe created at run time, and under the prefixed name.
PAGE = """<!doctype html><html><body><canvas id="c" width="100" height="100"></canvas>
<script>
const servers = [{urls: "stun:127.0.0.1:UDP_PORT"},
                 {urls: "turn:127.0.0.1:TCP_PORT?transport=tcp", username: "u", credential: "p"}];
async function gather(Ctor) {
  try {
    const pc = new Ctor({iceServers: servers});
    pc.createDataChannel("x");
    await pc.setLocalDescription(await pc.createOffer());
  } catch (e) { console.log("webrtc refused: " + e); }
}
gather(window.RTCPeerConnection);
if (window.webkitRTCPeerConnection) gather(window.webkitRTCPeerConnection);
const frame = document.createElement("iframe");
document.body.appendChild(frame);
if (frame.contentWindow && frame.contentWindow.RTCPeerConnection) gather(frame.contentWindow.RTCPeerConnection);
const ctx = document.getElementById("c").getContext("2d");
ctx.fillRect(0, 0, 50, 50);
</script></body></html>
"""


class Listeners:
    """A UDP and a TCP listener on loopback that count what reaches them."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp.settimeout(0.2)
        self.udp_packets = 0
        self.tcp_connections = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._udp, self._tcp)]
        for thread in self.threads:
            thread.start()

    def _udp(self) -> None:
        while not self.stop.is_set():
            try:
                self.udp.recvfrom(4096)
                self.udp_packets += 1
            except OSError:
                continue

    def _tcp(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                self.tcp_connections += 1
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=2)
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    found = Listeners()
    try:
        yield found
    finally:
        found.close()


def test_webrtc_cannot_reach_loopback_and_is_recorded(tmp_path: Path, listeners: Listeners) -> None:
    udp_port, tcp_port = listeners.udp.getsockname()[1], listeners.tcp.getsockname()[1]
    page = PAGE.replace("UDP_PORT", str(udp_port)).replace("TCP_PORT", str(tcp_port))
    (tmp_path / "index.html").write_text(page)
    with BrowserSession() as browser:
        report = browser.check(tmp_path, "index.html", timeout=15)
    time.sleep(1.0)  # anything still in flight arrives
    assert listeners.udp_packets == 0, "a STUN request reached the UDP listener"
    assert listeners.tcp_connections == 0, "a TURN connection reached the TCP listener"
    webrtc = [r for r in report.blocked_requests if r.startswith("webrtc:")]
    assert any(f"stun:127.0.0.1:{udp_port}" in r for r in webrtc), report.blocked_requests
    assert any(f"127.0.0.1:{tcp_port}" in r for r in webrtc), report.blocked_requests
    assert report.check("draws").passed  # the rest of the page still runs
