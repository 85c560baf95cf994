"""Inside an agent's sandbox: the proxy port on its own loopback, relayed to the bot's proxy.

Run as `python -I -S egress_relay.py SOCKET PORT -- COMMAND...` (the standard library only:
the sandbox has no site-packages). It listens on 127.0.0.1:PORT, passes each connection to
the Unix socket SOCKET, where the bot's egress proxy decides, and runs COMMAND meanwhile. It
exits with COMMAND's exit code, and passes on the signals that stop it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading

CHUNK = 65536


def _copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, path: str) -> None:
    proxy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proxy.connect(path)
    except OSError:
        client.close()
        proxy.close()
        return
    back = threading.Thread(target=_copy, args=(proxy, client), daemon=True)
    back.start()
    _copy(client, proxy)
    back.join()
    client.close()
    proxy.close()


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: egress_relay.py SOCKET PORT -- COMMAND...", file=sys.stderr)
        return 2
    path, port, command = argv[0], int(argv[1]), argv[3:]
    listener = socket.create_server(("127.0.0.1", port))
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    try:
        child = subprocess.Popen(command)
    except OSError as error:
        print(f"egress relay: cannot start {command[0]}: {error}", file=sys.stderr)
        return 127
    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(stop, lambda number, _frame: child.send_signal(number))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
