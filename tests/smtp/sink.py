#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd, Debian's python3-aiosmtpd): it speaks SMTP on
127.0.0.1 at a free port, printed as the first line of stdout, and writes each message it accepts
to OUT_DIR as NNNNNN.json, atomically: the envelope sender and recipients, the raw message as
received, and what a mail client would show of it (headers, the decoded plain and HTML bodies).
With FAIL_FIRST > 0 it answers the first FAIL_FIRST messages with a temporary failure (451), as a
server under load does; with `refuse`, every message with a permanent one (550). It exits when its stdin closes (its test process ended).

usage: sink.py OUT_DIR [FAIL_FIRST | refuse]
"""
import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, out, fail_first):
        self.out = out
        self.fail_first = fail_first
        self.seen = 0
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first < 0:
            return "550 5.7.1 refused for good"
        self.seen += 1
        if self.seen <= self.fail_first:
            return "451 4.3.0 try again later"
        self.accepted += 1
        raw = envelope.original_content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        path = os.path.join(self.out, "%06d.json" % self.accepted)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "data": raw.decode("utf-8", "replace"),
                    "headers": [[k, str(v)] for k, v in msg.items()],
                    "text": plain.get_content() if plain is not None else None,
                    "html": html.get_content() if html is not None else None,
                },
                f,
            )
        os.rename(path + ".tmp", path)
        return "250 2.0.0 accepted"


async def main():
    out = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "0"
    fail_first = -1 if mode == "refuse" else int(mode)
    os.makedirs(out, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Handler(out, fail_first)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", decode_data=False), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: done.done() or (not os.read(sys.stdin.fileno(), 4096) and done.set_result(None)))
    await done
    server.close()


asyncio.run(main())
