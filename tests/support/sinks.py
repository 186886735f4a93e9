"""A local webhook receiver that keeps every post, for counting deliveries by their id."""

import http.server
import json
import threading
import time
from collections import Counter

from tests.support.servers import POLL_SECONDS


class WebhookSink:
    """An HTTP endpoint on loopback answering 200 to every POST (after `delay` seconds)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.posts: list[dict] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if delay:
                    time.sleep(delay)
                with sink._lock:
                    sink.posts.append(
                        {
                            "delivery": self.headers.get("X-XM-Delivery", ""),
                            "event": self.headers.get("X-XM-Event", ""),
                            "body": json.loads(body or b"{}"),
                        }
                    )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/xm"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    def deliveries(self) -> Counter:
        """Posts per delivery id (X-XM-Delivery)."""
        with self._lock:
            return Counter(post["delivery"] for post in self.posts)

    def events(self) -> Counter:
        """Posts per (event name, object id)."""
        with self._lock:
            return Counter((post["event"], post["body"]["data"]["id"]) for post in self.posts)

    def __enter__(self) -> "WebhookSink":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
