"""The devnet's servers answer small messages without Nagle's delay. The listening socket is
made with ``IPPROTO_TCP`` so that asyncio turns on ``TCP_NODELAY`` for every connection it
accepts (``asyncio.base_events._set_nodelay`` checks the protocol number; a socket made with
the default 0 keeps Nagle on). With Nagle on, a relay writing a quote event right after its
answer to the same solver waited for the solver's delayed ACK: ~40 ms per quote (bench/)."""

import asyncio
import socket

from devnet.serving import listen


async def test_connections_accepted_by_a_devnet_server_have_no_nagle_delay() -> None:
    server_sock = listen("127.0.0.1", 0)
    accepted: list[int] = []  # TCP_NODELAY of each accepted connection

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(on_connect, sock=server_sock)
    try:
        port = server_sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if accepted:
                break
            await asyncio.sleep(0.01)
        writer.close()
        assert accepted
        assert accepted[0] != 0
    finally:
        server.close()
        await server.wait_closed()
