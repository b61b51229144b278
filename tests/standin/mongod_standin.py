#!/usr/bin/python3
"""mongod_standin: a MongoDB wire-protocol stand-in for tests.  It is NOT MongoDB.

Why it exists
-------------
No MongoDB server can be installed on the build machines (it is not packaged for
Debian, and the npm wrappers download it at run time from unreachable hosts).  The
application talks to MongoDB through libmongoc (GridFS bucket API, client pool,
SCRAM authentication).  To exercise those real libmongoc code paths in tests we
speak just enough of the wire protocol and delegate the data semantics to
`mongomock` (query matching, update operators, sorting, unique indexes), with
pymongo's C `bson` module doing the encoding.

What it speaks
--------------
* Legacy OP_QUERY for the handshake (isMaster/hello), OP_MSG for everything
  else (kind-0 body, kind-1 document sequences, `moreToCome` = no reply).
  It advertises maxWireVersion 13 (MongoDB 5.0), so drivers use OP_MSG.
* SCRAM-SHA-256 and SCRAM-SHA-1 (saslStart/saslContinue, speculative
  authentication inside hello, saslSupportedMechs).
* find/getMore/killCursors with 16 MiB batches, insert/update/delete,
  count/aggregate/distinct, index and collection management, createUser and
  dropUser.  Anything else answers `{ok: 0, code: 59}`; errors never drop the
  connection (a dropped socket makes libmongoc reconnect in a loop).

Trade-offs (read before trusting a result)
------------------------------------------
* Data lives in memory only and disappears when the process exits.
* One asyncio thread runs every command to completion, so commands are
  serialised; there are no transactions, change streams, TLS, read/write
  concerns (w:0 is honoured only in that no reply is sent), or replica sets.
* mongomock has no real indexes: every query scans the collection, and each
  insert into a collection with a unique index scans it again.  Measured on the
  build machine against bare mongomock: 960 chunks of 255 KiB inserted in
  0.6 s (about 1 ms per insert at that size, growing linearly), a `files_id`
  lookup over them in 1.5 ms.  That is fast enough for the
  test data sizes, so no `_id`/`files_id` lookup table was added; timings taken
  against this stand-in say nothing about MongoDB.
* Known divergences inherited from mongomock: sorting on array fields,
  MinKey/MaxKey in mixed sorts, Decimal128 vs int equality, field names with
  dots or a leading `$` (refused), the text of duplicate-key messages (code
  11000 is right, the index name is not reported), pipeline updates (refused).
* Authorisation is all-or-nothing: any authenticated user may run any command
  on any database; roles given to createUser are ignored.
* An empty projection `{}` means "no projection" here, as in MongoDB (mongomock
  alone would return only `_id`).

Command line
------------
  mongod_standin.py [--host H] [--port P] [--port-file PATH] [--log PATH]
                    [--user NAME:PASSWORD@DB ...] [--fail-file PATH]
                    [--hang-file PATH]

With at least one --user, every command except hello/isMaster, ping,
buildInfo, saslStart, saslContinue and endSessions needs an authenticated
connection (code 13 otherwise).  --fail-file injects faults: while that file
exists every command except hello/isMaster answers
`{ok: 0, code: 91, errmsg: "stand-in: injected failure"}`; if the file holds an
integer, that integer is used as the code instead of 91; if it holds command
names, only those fail; if it holds the word `once`, the first failure removes
the file (one command fails, the rest run).  Note that drivers
treat 91 (ShutdownInProgress) as a state change: they mark the server unknown
and reconnect.  --hang-file makes the server hang instead: while that file
exists, the replies to the commands it names (whitespace-separated; `*` for
every command) are held back until it is removed (the command itself has run),
as a server that stops answering would.  SIGTERM or SIGINT stops the server with exit status 0.
"""

import argparse
import asyncio
import base64
import datetime
import hashlib
import hmac
import itertools
import os
import secrets
import signal
import struct
import sys
import time
import traceback

import bson
import mongomock
import mongomock.filtering
import pymongo.errors
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from pymongo.saslprep import saslprep

# UNSPECIFIED keeps UUID binaries (subtypes 3 and 4) as Binary, so they round-trip.
CODEC = CodecOptions(uuid_representation=UuidRepresentation.UNSPECIFIED)

MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000
MAX_WRITE_BATCH = 100_000
MAX_WIRE_VERSION = 13
DEFAULT_FIRST_BATCH = 101
MAX_OPEN_CURSORS = 10_000
CURSOR_IDLE_SECONDS = 600
HANG_POLL = 0.02           # s between two looks at --hang-file
HANG_MAX_POLLS = 30_000    # a reply is held back for 10 minutes at the most

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
MSG_CHECKSUM_PRESENT, MSG_MORE_TO_COME = 1 << 0, 1 << 1
REPLY_QUERY_FAILURE = 1 << 1

CODE_NAMES = {
    1: "InternalError", 2: "BadValue", 9: "FailedToParse", 11: "UserNotFound",
    13: "Unauthorized", 14: "TypeMismatch", 17: "ProtocolError", 18: "AuthenticationFailed",
    22: "InvalidBSON", 26: "NamespaceNotFound", 27: "IndexNotFound",
    43: "CursorNotFound", 48: "NamespaceExists", 59: "CommandNotFound",
    73: "InvalidNamespace", 85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict", 91: "ShutdownInProgress",
    238: "NotImplemented", 334: "MechanismUnavailable",
    10334: "BSONObjectTooLarge", 11000: "DuplicateKey",
    40571: "Location40571", 51003: "Location51003",
}

# Commands allowed before authentication, and the ones fault injection spares.
HELLO_COMMANDS = {"hello", "isMaster"}
AUTH_EXEMPT = HELLO_COMMANDS | {"ping", "buildInfo", "saslStart", "saslContinue",
                                "endSessions"}
ALIASES = {"ismaster": "isMaster", "buildinfo": "buildInfo"}


class CommandError(Exception):
    """A command failure that becomes an `{ok: 0}` reply."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class ProtocolError(Exception):
    """The byte stream cannot be trusted any more: close the connection."""


def error_doc(code, message):
    return {"ok": 0.0, "errmsg": message, "code": code,
            "codeName": CODE_NAMES.get(code, "Location%d" % code)}


# --------------------------------------------------------------------------
# Wire protocol framing
# --------------------------------------------------------------------------

def read_cstring(buf, pos):
    end = buf.index(b"\x00", pos)
    return buf[pos:end].decode("utf-8"), end + 1


def read_bson_at(buf, pos):
    """Return (raw document bytes, position after it)."""
    if pos + 4 > len(buf):
        raise CommandError(22, "truncated BSON document")
    size = struct.unpack_from("<i", buf, pos)[0]
    if size < 5 or pos + size > len(buf):
        raise CommandError(22, "invalid BSON document length %d" % size)
    return buf[pos:pos + size], pos + size


def decode_one(raw):
    return bson.decode_all(raw, CODEC)[0]  # positional: the C version takes no kwargs


def parse_op_msg(body):
    """Return (flags, command) from an OP_MSG body (everything after the header)."""
    flags = struct.unpack_from("<I", body, 0)[0]
    end = len(body) - (4 if flags & MSG_CHECKSUM_PRESENT else 0)
    pos, command, sequences = 4, None, {}
    while pos < end:  # each pass consumes one section, so it ends
        kind, pos = body[pos], pos + 1
        if kind == 0:
            raw, pos = read_bson_at(body, pos)
            command = decode_one(raw)
        elif kind == 1:
            size = struct.unpack_from("<i", body, pos)[0]
            if size < 5 or pos + size > end:
                raise CommandError(22, "invalid document sequence length")
            name, docs_start = read_cstring(body, pos + 4)
            sequences[name] = bson.decode_all(bytes(body[docs_start:pos + size]), CODEC)
            pos += size
        else:
            raise CommandError(22, "unknown OP_MSG section kind %d" % kind)
    if command is None:
        raise CommandError(22, "OP_MSG without a body section")
    for name, docs in sequences.items():
        if name in command:
            raise CommandError(22, "duplicate field %r in OP_MSG" % name)
        command[name] = docs
    return flags, command


def parse_op_query(body):
    """Return (namespace, query document) from an OP_QUERY body."""
    namespace, pos = read_cstring(body, 4)
    raw, _ = read_bson_at(body, pos + 8)  # skip numberToSkip, numberToReturn
    return namespace, decode_one(raw)


def encode_reply_doc(reply):
    try:
        data = bson.encode(reply, False, CODEC)
    except Exception as exc:  # an unencodable value must not kill the connection
        return bson.encode(error_doc(1, "stand-in cannot encode reply: %s" % exc))
    if len(data) > MAX_BSON_SIZE + 16 * 1024:
        return bson.encode(error_doc(10334, "reply too large: %d bytes" % len(data)))
    return data


def frame(request_id, response_to, opcode, payload):
    header = struct.pack("<iiii", 16 + len(payload), request_id, response_to, opcode)
    return header + payload


def op_msg_reply(request_id, response_to, reply):
    return frame(request_id, response_to, OP_MSG,
                 b"\x00\x00\x00\x00\x00" + encode_reply_doc(reply))


def op_reply(request_id, response_to, reply, flags=0):
    prefix = struct.pack("<iqii", flags, 0, 0, 1)
    return frame(request_id, response_to, OP_REPLY, prefix + encode_reply_doc(reply))


# --------------------------------------------------------------------------
# SCRAM (RFC 5802 / 7677, MongoDB flavour)
# --------------------------------------------------------------------------

SCRAM = {  # mechanism -> (hash name, iterations, salt length): MongoDB defaults
    "SCRAM-SHA-1": ("sha1", 10000, 16),
    "SCRAM-SHA-256": ("sha256", 15000, 28),
}


def b64(data):
    return base64.b64encode(data).decode("ascii")


def scram_password(mechanism, user, password):
    if mechanism == "SCRAM-SHA-1":  # MongoDB hashes the password first for SHA-1
        return hashlib.md5(("%s:mongo:%s" % (user, password)).encode()).hexdigest()
    return saslprep(password)


class ScramCredential:
    """What the server stores for one user and mechanism."""

    def __init__(self, mechanism, user, password):
        self.digest, self.iterations, salt_len = SCRAM[mechanism]
        self.salt = secrets.token_bytes(salt_len)
        secret = scram_password(mechanism, user, password).encode()
        salted = hashlib.pbkdf2_hmac(self.digest, secret, self.salt, self.iterations)
        client_key = self.hmac(salted, "Client Key")
        self.stored_key = hashlib.new(self.digest, client_key).digest()
        self.server_key = self.hmac(salted, "Server Key")

    def hmac(self, key, text):
        return hmac.new(key, text.encode("utf-8"), self.digest).digest()


class UserTable:
    def __init__(self):
        self._users = {}  # (db, name) -> {mechanism: ScramCredential}

    def add(self, db, name, password, mechanisms=tuple(SCRAM)):
        if (db, name) in self._users:
            raise CommandError(51003, "User \"%s@%s\" already exists" % (name, db))
        unknown = [m for m in mechanisms if m not in SCRAM]
        if unknown or not mechanisms:
            raise CommandError(2, "unsupported mechanisms: %r" % (unknown or mechanisms))
        self._users[(db, name)] = {m: ScramCredential(m, name, password) for m in mechanisms}

    def remove(self, db, name):
        if self._users.pop((db, name), None) is None:
            raise CommandError(11, "User '%s@%s' not found" % (name, db))

    def credential(self, db, name, mechanism):
        return self._users.get((db, name), {}).get(mechanism)

    def mechanisms(self, db, name):
        return sorted(self._users.get((db, name), {}))

    def __len__(self):
        return len(self._users)


def parse_scram_attributes(text):
    attributes = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            attributes.setdefault(key, value)
    return attributes


def auth_failed():
    return CommandError(18, "Authentication failed.")


class ScramConversation:
    """Server side of one SCRAM exchange (client-first already received)."""

    def __init__(self, users, db, mechanism, payload, skip_empty_exchange):
        if mechanism not in SCRAM:
            raise CommandError(334, "Received authentication for mechanism %s which is "
                                    "not enabled" % mechanism)
        text = payload_text(payload)
        comma = text.find(",", 2)
        if not text.startswith(("n,", "y,")) or comma < 0:
            raise auth_failed()  # channel binding ("p=") is not supported
        self.gs2_header, self.client_first_bare = text[:comma + 1], text[comma + 1:]
        attributes = parse_scram_attributes(self.client_first_bare)
        name = attributes.get("n", "").replace("=2C", ",").replace("=3D", "=")
        self.credential = users.credential(db, name, mechanism)
        if self.credential is None or not attributes.get("r"):
            raise auth_failed()
        self.user, self.db, self.skip_empty_exchange = name, db, skip_empty_exchange
        self.nonce = attributes["r"] + b64(secrets.token_bytes(24))
        self.server_first = "r=%s,s=%s,i=%d" % (self.nonce, b64(self.credential.salt),
                                                self.credential.iterations)
        self.proof_checked = False

    def verify_client_final(self, payload):
        """Check the client proof; return the server-final message."""
        without_proof, sep, proof = payload_text(payload).rpartition(",p=")
        attributes = parse_scram_attributes(without_proof)
        if (not sep or attributes.get("r") != self.nonce
                or attributes.get("c") != b64(self.gs2_header.encode())):
            raise auth_failed()
        cred = self.credential
        auth_message = ",".join((self.client_first_bare, self.server_first, without_proof))
        signature = cred.hmac(cred.stored_key, auth_message)
        try:
            client_proof = base64.b64decode(proof, validate=True)
        except ValueError:
            raise auth_failed()
        if len(client_proof) != len(signature):
            raise auth_failed()
        client_key = bytes(a ^ b for a, b in zip(client_proof, signature))
        if not hmac.compare_digest(hashlib.new(cred.digest, client_key).digest(),
                                   cred.stored_key):
            raise auth_failed()
        self.proof_checked = True
        return "v=" + b64(cred.hmac(cred.server_key, auth_message))


def payload_text(payload):
    if isinstance(payload, str):
        return payload
    try:
        return bytes(payload).decode("utf-8")
    except (TypeError, UnicodeDecodeError):
        raise auth_failed()


# --------------------------------------------------------------------------
# Cursors
# --------------------------------------------------------------------------

class Cursor:
    __slots__ = ("id", "ns", "docs", "pos", "touched")

    def __init__(self, cursor_id, ns, docs, pos):
        self.id, self.ns, self.docs, self.pos = cursor_id, ns, docs, pos
        self.touched = time.monotonic()


def take_batch(docs, start, max_docs):
    """Encode docs[start:] into a batch of at most max_docs (None = any number)
    and MAX_BSON_SIZE bytes (but at least one document).  Return (batch, next)."""
    stop = len(docs) if max_docs is None else min(len(docs), start + max_docs)
    batch, total, pos = [], 0, start
    while pos < stop:
        raw = bson.encode(docs[pos], False, CODEC)
        if batch and total + len(raw) > MAX_BSON_SIZE:
            break
        batch.append(RawBSONDocument(raw))  # embedded as is when encoding
        total += len(raw)
        docs[pos] = None  # the encoded copy is all we need now
        pos += 1
    return batch, pos


class CursorTable:
    """Server-side cursors.  Global (not per connection), like MongoDB: a driver
    may send getMore on another pooled connection.  Bounded in count and age."""

    def __init__(self):
        self._cursors = {}

    def first_batch(self, ns, docs, batch_size, single_batch):
        if batch_size is not None:
            max_docs = batch_size
        else:  # MongoDB's default: 101 documents, or one full batch if single
            max_docs = None if single_batch else DEFAULT_FIRST_BATCH
        batch, pos = take_batch(docs, 0, max_docs)
        cursor_id = 0
        if pos < len(docs) and not single_batch:
            cursor_id = self._store(ns, docs, pos)
        return {"cursor": {"firstBatch": batch, "id": Int64(cursor_id), "ns": ns}}

    def next_batch(self, cursor_id, ns, batch_size):
        cursor = self._cursors.get(cursor_id)
        if cursor is None:
            raise CommandError(43, "cursor id %d not found" % cursor_id)
        if cursor.ns != ns:
            raise CommandError(13, "Requested getMore on namespace '%s', but cursor "
                                   "belongs to a different namespace %s" % (ns, cursor.ns))
        batch, cursor.pos = take_batch(cursor.docs, cursor.pos, batch_size or None)
        cursor.touched = time.monotonic()
        if cursor.pos >= len(cursor.docs):
            del self._cursors[cursor_id]
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": ns}}

    def kill(self, cursor_ids):
        killed = [i for i in cursor_ids if self._cursors.pop(i, None) is not None]
        return killed, [i for i in cursor_ids if i not in killed]

    def _store(self, ns, docs, pos):
        self._prune()
        cursor_id = secrets.randbits(62) + 1
        self._cursors[cursor_id] = Cursor(cursor_id, ns, docs, pos)
        return cursor_id

    def _prune(self):
        deadline = time.monotonic() - CURSOR_IDLE_SECONDS
        for cursor_id in [c.id for c in self._cursors.values() if c.touched < deadline]:
            del self._cursors[cursor_id]
        while len(self._cursors) >= MAX_OPEN_CURSORS:  # evict the oldest
            del self._cursors[next(iter(self._cursors))]


# --------------------------------------------------------------------------
# Argument helpers
# --------------------------------------------------------------------------

def collection_arg(cmd, field):
    name = cmd.get(field)
    if not isinstance(name, str) or not name:
        raise CommandError(73, "collection name for '%s' must be a non-empty string" % field)
    return name


def doc_arg(cmd, field, default=None):
    value = cmd.get(field, default)
    if value is None:
        return default
    if not isinstance(value, dict):
        raise CommandError(14, "'%s' must be a document" % field)
    return value


def list_arg(cmd, field):
    value = cmd.get(field)
    if not isinstance(value, list):
        raise CommandError(14, "'%s' must be an array" % field)
    if len(value) > MAX_WRITE_BATCH:
        raise CommandError(2, "'%s' has more than %d entries" % (field, MAX_WRITE_BATCH))
    return value


def int_arg(cmd, field, default=None):
    value = cmd.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(14, "'%s' must be a number" % field)
    return int(value)


def non_negative(cmd, field):
    value = int_arg(cmd, field, 0)
    if value < 0:
        raise CommandError(2, "%s value must be non-negative" % field)
    return value


def sort_arg(cmd, field="sort"):
    sort = doc_arg(cmd, field)
    return list(sort.items()) if sort else None


def check_size(doc):
    size = len(bson.encode(doc, False, CODEC))
    if size > MAX_BSON_SIZE:
        raise CommandError(10334, "object to insert too large. size in bytes: %d, "
                                  "max size: %d" % (size, MAX_BSON_SIZE))


def write_error_from(exc, ns):
    """Map a mongomock/pymongo exception raised by one write to a writeError."""
    if isinstance(exc, pymongo.errors.DuplicateKeyError):
        return {"code": 11000, "errmsg": "E11000 duplicate key error collection: %s "
                                         "(stand-in: index name not reported)" % ns}
    if isinstance(exc, pymongo.errors.OperationFailure):
        return {"code": exc.code or 2, "errmsg": str(exc)}
    if isinstance(exc, NotImplementedError):
        return {"code": 238, "errmsg": "not supported by the stand-in: %s" % exc}
    return {"code": 2, "errmsg": str(exc)}


WRITE_EXCEPTIONS = (pymongo.errors.PyMongoError, bson.errors.BSONError, NotImplementedError,
                    ValueError, TypeError, KeyError)


def run_statements(statements, apply, ns, ordered):
    """Call apply(statement) for each write statement, MongoDB style: a failure
    becomes a writeError and, when ordered, stops the batch.
    Return (list of apply results, writeErrors)."""
    results, errors = [], []
    for index, stmt in enumerate(statements):
        try:
            results.append((index, apply(stmt)))
            continue
        except CommandError as exc:
            errors.append({"index": index, "code": exc.code, "errmsg": exc.message})
        except WRITE_EXCEPTIONS as exc:
            errors.append({"index": index, **write_error_from(exc, ns)})
        if ordered:
            break
    return results, errors


def write_reply(n, errors, **extra):
    reply = {"n": n, **extra}
    if errors:
        reply["writeErrors"] = errors
    return reply


# --------------------------------------------------------------------------
# Connection state and the server
# --------------------------------------------------------------------------

class Connection:
    def __init__(self, conn_id):
        self.id = conn_id
        self.users = set()  # (db, name) pairs authenticated on this connection
        self.scram = None   # ScramConversation in progress
        self.command = ""   # the name of the last command received


class StandIn:
    """All server state; `dispatch` runs one command and never raises."""

    def __init__(self, users=(), fail_file=None, log=None, hang_file=None):
        self.client = mongomock.MongoClient()
        self.users = UserTable()
        for db, name, password in users:
            self.users.add(db, name, password)
        self.auth_required = len(self.users) > 0
        self.cursors = CursorTable()
        self.fail_file = fail_file
        self.hang_file = hang_file
        self.log = log
        self.connection_ids = itertools.count(1)
        self.request_ids = itertools.count(1)
        self.writers = set()
        self.commands = {name[4:]: getattr(self, name) for name in dir(self)
                         if name.startswith("cmd_")}
        self.commands["isMaster"] = self.cmd_hello

    # -- plumbing ----------------------------------------------------------

    def collection(self, db, name):
        return self.client[db][name]

    def exists(self, db, name):
        return name in self.client[db].list_collection_names()

    def injected_failure(self, name):
        """The error to answer command `name` with while --fail-file
        exists: its words are an error code (default 91), command names
        (default: every command) and `once` (the file is removed after the
        first failure it causes)."""
        if not self.fail_file or not os.path.exists(self.fail_file):
            return None
        try:
            with open(self.fail_file) as f:
                words = f.read().split()
        except OSError:
            words = []
        codes = [int(w) for w in words if w.isdigit()]
        names = {w for w in words if not w.isdigit() and w != "once"}
        if names and name not in names:
            return None
        if "once" in words:
            try:
                os.unlink(self.fail_file)
            except OSError:
                return None  # another connection's failure took it
        return error_doc(codes[0] if codes else 91, "stand-in: injected failure")

    def hangs(self, name):
        """True while --hang-file names this command (or `*`)."""
        if not self.hang_file:
            return False
        try:
            with open(self.hang_file) as f:
                names = set(f.read().split())
        except OSError:
            return False
        return bool(names & {name, "*"})

    async def hold_while_hung(self, conn):
        for _ in range(HANG_MAX_POLLS):
            if not self.hangs(conn.command):
                return
            await asyncio.sleep(HANG_POLL)

    def dispatch(self, conn, db, cmd):
        name = next(iter(cmd), "")
        conn.command = name
        name = ALIASES.get(name, name)
        if name not in HELLO_COMMANDS:
            failure = self.injected_failure(name)
            if failure:
                return failure
        if self.auth_required and not conn.users and name not in AUTH_EXEMPT:
            return error_doc(13, "command %s requires authentication" % name)
        handler = self.commands.get(name)
        if handler is None:
            return error_doc(59, "no such command: '%s' (not implemented by the stand-in)"
                             % name)
        try:
            reply = handler(conn, db, cmd)
        except CommandError as exc:
            return error_doc(exc.code, exc.message)
        except pymongo.errors.DuplicateKeyError as exc:
            return error_doc(11000, "E11000 duplicate key error: %s" % exc)
        except pymongo.errors.OperationFailure as exc:
            return error_doc(exc.code or 2, str(exc))
        except NotImplementedError as exc:
            return error_doc(238, "not supported by the stand-in: %s" % exc)
        except Exception as exc:  # keep serving whatever goes wrong
            traceback.print_exc(file=sys.stderr)
            return error_doc(1, "stand-in internal error: %r" % exc)
        reply.setdefault("ok", 1.0)
        return reply

    def log_command(self, conn, db, cmd, reply, started):
        if not self.log:
            return
        name = next(iter(cmd), "?") if isinstance(cmd, dict) else "?"
        target = cmd.get(name) if isinstance(cmd, dict) else None
        line = "%s conn=%d db=%s cmd=%s coll=%s ok=%d code=%s ms=%.1f\n" % (
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            conn.id, db, name, target if isinstance(target, str) else "-",
            int(reply.get("ok", 0)), reply.get("code", "-"),
            (time.monotonic() - started) * 1000)
        self.log.write(line)
        self.log.flush()

    # -- messages ----------------------------------------------------------

    def handle_message(self, conn, request_id, opcode, body):
        """Return the reply bytes, or None when no reply is due."""
        started = time.monotonic()
        if opcode == OP_MSG:
            return self.handle_op_msg(conn, request_id, body, started)
        if opcode == OP_QUERY:
            return self.handle_op_query(conn, request_id, body, started)
        raise ProtocolError("unsupported opcode %d" % opcode)

    def handle_op_msg(self, conn, request_id, body, started):
        if len(body) < 5:
            raise ProtocolError("OP_MSG too short")
        flags = struct.unpack_from("<I", body, 0)[0]
        db, cmd = "?", {}
        try:
            _, cmd = parse_op_msg(body)
            db = cmd.get("$db")
            if not isinstance(db, str) or not db:
                raise CommandError(40571, "OP_MSG requests require a $db argument")
            reply = self.dispatch(conn, db, cmd)
        except CommandError as exc:
            reply = error_doc(exc.code, exc.message)
        except (bson.errors.BSONError, ValueError, IndexError, struct.error) as exc:
            reply = error_doc(22, "cannot parse OP_MSG: %s" % exc)
        self.log_command(conn, db, cmd, reply, started)
        if flags & MSG_MORE_TO_COME:
            return None
        return op_msg_reply(next(self.request_ids), request_id, reply)

    def handle_op_query(self, conn, request_id, body, started):
        db, cmd, flags = "?", {}, 0
        try:
            namespace, query = parse_op_query(body)
            db, _, collection = namespace.partition(".")
            if collection != "$cmd":
                raise CommandError(352, "legacy OP_QUERY find is not supported")
            cmd = query.get("$query", query)
            if not isinstance(cmd, dict):
                raise CommandError(22, "$query must be a document")
            reply = self.dispatch(conn, db, cmd)
        except CommandError as exc:
            reply, flags = {"$err": exc.message, "code": exc.code}, REPLY_QUERY_FAILURE
        except (bson.errors.BSONError, ValueError, IndexError, struct.error) as exc:
            reply, flags = {"$err": "cannot parse OP_QUERY: %s" % exc, "code": 22}, \
                REPLY_QUERY_FAILURE
        self.log_command(conn, db, cmd, reply, started)
        return op_reply(next(self.request_ids), request_id, reply, flags)

    async def serve_connection(self, reader, writer):
        conn = Connection(next(self.connection_ids))
        self.writers.add(writer)
        try:
            while True:  # one message per pass; ends on EOF, error or shutdown
                header = await reader.readexactly(16)
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                if not 16 < length <= MAX_MESSAGE_SIZE:
                    raise ProtocolError("bad message length %d" % length)
                body = await reader.readexactly(length - 16)
                conn.command = ""
                reply = self.handle_message(conn, request_id, opcode, body)
                await self.hold_while_hung(conn)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError as exc:
            print("mongod_standin: conn %d closed: %s" % (conn.id, exc), file=sys.stderr)
        except Exception:  # a bug here costs one connection, never the server
            traceback.print_exc(file=sys.stderr)
        finally:
            self.writers.discard(writer)
            writer.close()

    # -- handshake and authentication ------------------------------------

    def cmd_hello(self, conn, db, cmd):
        legacy = "hello" not in cmd
        reply = {
            "ismaster" if legacy else "isWritablePrimary": True,
            "maxBsonObjectSize": MAX_BSON_SIZE,
            "maxMessageSizeBytes": MAX_MESSAGE_SIZE,
            "maxWriteBatchSize": MAX_WRITE_BATCH,
            "localTime": datetime.datetime.now(datetime.timezone.utc),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": conn.id,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
        }
        if cmd.get("helloOk"):
            reply["helloOk"] = True
        mechs_for = cmd.get("saslSupportedMechs")
        if isinstance(mechs_for, str) and "." in mechs_for:
            user_db, _, user = mechs_for.partition(".")
            mechanisms = self.users.mechanisms(user_db, user)
            if mechanisms:
                reply["saslSupportedMechs"] = mechanisms
        speculative = cmd.get("speculativeAuthenticate")
        if isinstance(speculative, dict) and "saslStart" in speculative:
            try:
                reply["speculativeAuthenticate"] = self.sasl_start(
                    conn, speculative.get("db", db), speculative)
            except CommandError:
                pass  # MongoDB omits the field; the driver then authenticates normally
        return reply

    def sasl_start(self, conn, db, cmd):
        options = doc_arg(cmd, "options", {})
        conn.scram = None  # a new saslStart abandons any conversation in progress
        conn.scram = ScramConversation(self.users, db, cmd.get("mechanism"),
                                       cmd.get("payload", b""),
                                       bool(options.get("skipEmptyExchange")))
        return {"conversationId": 1, "done": False,
                "payload": conn.scram.server_first.encode()}

    def cmd_saslStart(self, conn, db, cmd):
        return self.sasl_start(conn, db, cmd)

    def cmd_saslContinue(self, conn, db, cmd):
        scram, conn.scram = conn.scram, None
        if scram is None or cmd.get("conversationId") != 1:
            raise CommandError(17, "No SASL session state found")
        if scram.proof_checked:  # the optional empty third round
            conn.users.add((scram.db, scram.user))
            return {"conversationId": 1, "done": True, "payload": b""}
        server_final = scram.verify_client_final(cmd.get("payload", b""))
        if scram.skip_empty_exchange:
            conn.users.add((scram.db, scram.user))
        else:
            conn.scram = scram
        return {"conversationId": 1, "done": scram.skip_empty_exchange,
                "payload": server_final.encode()}

    def cmd_ping(self, conn, db, cmd):
        return {}

    def cmd_endSessions(self, conn, db, cmd):
        return {}

    def cmd_buildInfo(self, conn, db, cmd):
        return {"version": "5.0.0", "gitVersion": "mongod_standin",
                "versionArray": [5, 0, 0, 0], "bits": 64, "debug": False,
                "maxBsonObjectSize": MAX_BSON_SIZE, "standin": True}

    def cmd_connectionStatus(self, conn, db, cmd):
        users = [{"user": name, "db": user_db} for user_db, name in sorted(conn.users)]
        return {"authInfo": {"authenticatedUsers": users, "authenticatedUserRoles": []}}

    def cmd_createUser(self, conn, db, cmd):
        name, password = cmd.get("createUser"), cmd.get("pwd")
        if not isinstance(name, str) or not name or not isinstance(password, str):
            raise CommandError(2, "createUser needs a user name and a 'pwd' string")
        mechanisms = cmd.get("mechanisms") or list(SCRAM)
        self.users.add(db, name, password, tuple(mechanisms))
        return {}

    def cmd_dropUser(self, conn, db, cmd):
        self.users.remove(db, cmd.get("dropUser"))
        return {}

    # -- reads -------------------------------------------------------------

    def cmd_find(self, conn, db, cmd):
        name = collection_arg(cmd, "find")
        limit = int_arg(cmd, "limit", 0)
        projection = doc_arg(cmd, "projection") or None  # {} means "everything"
        docs = list(self.collection(db, name).find(
            doc_arg(cmd, "filter", {}), projection, skip=non_negative(cmd, "skip"),
            limit=abs(limit), sort=sort_arg(cmd)))
        single = bool(cmd.get("singleBatch")) or limit < 0
        batch_size = int_arg(cmd, "batchSize")
        if batch_size is not None and batch_size < 0:
            raise CommandError(2, "batchSize value must be non-negative")
        return self.cursors.first_batch("%s.%s" % (db, name), docs, batch_size, single)

    def cmd_getMore(self, conn, db, cmd):
        cursor_id = int_arg(cmd, "getMore")
        ns = "%s.%s" % (db, collection_arg(cmd, "collection"))
        return self.cursors.next_batch(cursor_id, ns, int_arg(cmd, "batchSize", 0))

    def cmd_killCursors(self, conn, db, cmd):
        ids = [int(i) for i in list_arg(cmd, "cursors")]
        killed, missing = self.cursors.kill(ids)
        return {"cursorsKilled": [Int64(i) for i in killed],
                "cursorsNotFound": [Int64(i) for i in missing],
                "cursorsAlive": [], "cursorsUnknown": []}

    def cmd_count(self, conn, db, cmd):
        name = collection_arg(cmd, "count")
        found = self.collection(db, name).find(
            doc_arg(cmd, "query", {}), {"_id": 1}, skip=non_negative(cmd, "skip"),
            limit=abs(int_arg(cmd, "limit", 0)))
        return {"n": sum(1 for _ in found)}

    def cmd_aggregate(self, conn, db, cmd):
        name = cmd.get("aggregate")
        if not isinstance(name, str):
            raise CommandError(238, "database-level aggregate is not supported by the stand-in")
        if cmd.get("explain"):
            raise CommandError(238, "aggregate explain is not supported by the stand-in")
        docs = list(self.collection(db, name).aggregate(list_arg(cmd, "pipeline")))
        batch_size = int_arg(doc_arg(cmd, "cursor", {}), "batchSize")
        return self.cursors.first_batch("%s.%s" % (db, name), docs, batch_size, False)

    def cmd_distinct(self, conn, db, cmd):
        key = cmd.get("key")
        if not isinstance(key, str):
            raise CommandError(14, "'key' must be a string")
        coll = self.collection(db, collection_arg(cmd, "distinct"))
        return {"values": coll.distinct(key, doc_arg(cmd, "query", {}))}

    # -- writes ------------------------------------------------------------

    def write_target(self, db, cmd, field):
        name = collection_arg(cmd, field)
        return self.collection(db, name), "%s.%s" % (db, name), cmd.get("ordered", True)

    def cmd_insert(self, conn, db, cmd):
        coll, ns, ordered = self.write_target(db, cmd, "insert")
        done, errors = run_statements(list_arg(cmd, "documents"),
                                      lambda doc: insert_document(coll, doc), ns, ordered)
        return write_reply(len(done), errors)

    def cmd_update(self, conn, db, cmd):
        coll, ns, ordered = self.write_target(db, cmd, "update")
        done, errors = run_statements(list_arg(cmd, "updates"),
                                      lambda stmt: update_statement(coll, stmt), ns, ordered)
        upserted = [{"index": index, "_id": new_id}
                    for index, (_, _, new_id) in done if new_id is not None]
        extra = {"nModified": sum(modified for _, (_, modified, _) in done)}
        if upserted:
            extra["upserted"] = upserted
        return write_reply(sum(matched for _, (matched, _, _) in done), errors, **extra)

    def cmd_delete(self, conn, db, cmd):
        coll, ns, ordered = self.write_target(db, cmd, "delete")
        done, errors = run_statements(list_arg(cmd, "deletes"),
                                      lambda stmt: delete_statement(coll, stmt), ns, ordered)
        return write_reply(sum(n for _, n in done), errors)

    # -- collections, indexes, databases -----------------------------------

    def require_collection(self, db, name):
        if not self.exists(db, name):
            raise CommandError(26, "ns does not exist: %s.%s" % (db, name))
        return self.collection(db, name)

    def cmd_listIndexes(self, conn, db, cmd):
        name = collection_arg(cmd, "listIndexes")
        info = self.require_collection(db, name).index_information()
        docs = [index_document(index_name, spec) for index_name, spec in info.items()]
        batch_size = int_arg(doc_arg(cmd, "cursor", {}), "batchSize")
        return self.cursors.first_batch("%s.%s" % (db, name), docs, batch_size, False)

    def cmd_createIndexes(self, conn, db, cmd):
        name = collection_arg(cmd, "createIndexes")
        created_collection = not self.exists(db, name)
        coll = self.collection(db, name)
        before = max(1, len(coll.index_information()))
        for spec in list_arg(cmd, "indexes"):
            create_index(coll, spec)
        reply = {"createdCollectionAutomatically": created_collection,
                 "numIndexesBefore": before,
                 "numIndexesAfter": max(1, len(coll.index_information()))}
        if reply["numIndexesAfter"] == before:
            reply["note"] = "all indexes already exist"
        return reply

    def cmd_dropIndexes(self, conn, db, cmd):
        name = collection_arg(cmd, "dropIndexes")
        coll = self.require_collection(db, name)
        before, index = len(coll.index_information()), cmd.get("index")
        if index == "*":
            coll.drop_indexes()
        elif isinstance(index, (str, dict)):
            try:
                coll.drop_index(list(index.items()) if isinstance(index, dict) else index)
            except pymongo.errors.OperationFailure:
                raise CommandError(27, "index not found with name [%s]" % (index,))
        else:
            raise CommandError(14, "'index' must be a string or a document")
        return {"nIndexesWas": before}

    def cmd_create(self, conn, db, cmd):
        name = collection_arg(cmd, "create")
        if self.exists(db, name):
            raise CommandError(48, "Collection already exists. NS: %s.%s" % (db, name))
        self.client[db].create_collection(name)
        return {}

    def cmd_drop(self, conn, db, cmd):
        name = collection_arg(cmd, "drop")
        count = len(self.require_collection(db, name).index_information())
        self.client[db].drop_collection(name)
        return {"nIndexesWas": count, "ns": "%s.%s" % (db, name)}

    def cmd_dropDatabase(self, conn, db, cmd):
        self.client.drop_database(db)
        return {"dropped": db}

    def cmd_listCollections(self, conn, db, cmd):
        name_only = bool(cmd.get("nameOnly"))
        query = doc_arg(cmd, "filter", {})
        infos = [collection_info(name, name_only)
                 for name in sorted(self.client[db].list_collection_names())]
        docs = [info for info in infos if mongomock.filtering.filter_applies(query, info)]
        batch_size = int_arg(doc_arg(cmd, "cursor", {}), "batchSize")
        return self.cursors.first_batch("%s.$cmd.listCollections" % db, docs, batch_size,
                                        False)

    def cmd_listDatabases(self, conn, db, cmd):
        names = sorted(self.client.list_database_names())
        if cmd.get("nameOnly"):
            return {"databases": [{"name": n} for n in names]}
        return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names],
                "totalSize": 0}


def insert_document(coll, doc):
    if not isinstance(doc, dict):
        raise CommandError(14, "documents must be BSON documents")
    check_size(doc)
    coll.insert_one(doc)


def update_statement(coll, stmt):
    """Apply one update statement; return (matched, modified, upserted _id or None)."""
    if not isinstance(stmt, dict):
        raise CommandError(14, "update statements must be documents")
    query, update = doc_arg(stmt, "q", {}), stmt.get("u")
    upsert, multi = bool(stmt.get("upsert")), bool(stmt.get("multi"))
    if isinstance(update, list):
        raise CommandError(238, "pipeline updates are not supported by the stand-in")
    if not isinstance(update, dict):
        raise CommandError(9, "'u' must be a document")
    operators = [key.startswith("$") for key in update]
    if any(operators) and not all(operators):
        raise CommandError(9, "update document mixes operators and fields")
    if any(operators):
        method = coll.update_many if multi else coll.update_one
        result = method(query, update, upsert=upsert, array_filters=stmt.get("arrayFilters"))
    elif multi:
        raise CommandError(9, "multi update is not supported for replacement-style update")
    else:
        check_size(update)
        result = coll.replace_one(query, update, upsert=upsert)
    new_id = result.upserted_id
    return result.matched_count + (new_id is not None), result.modified_count, new_id


def delete_statement(coll, stmt):
    """Apply one delete statement (limit 1 or 0 = all); return the number deleted."""
    if not isinstance(stmt, dict):
        raise CommandError(14, "delete statements must be documents")
    limit = int_arg(stmt, "limit")
    if limit not in (0, 1):
        raise CommandError(9, "The limit field in delete objects must be 0 or 1")
    method = coll.delete_one if limit == 1 else coll.delete_many
    return method(doc_arg(stmt, "q", {})).deleted_count


INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


def index_document(name, spec):
    doc = {"v": 2, "key": dict(spec["key"]), "name": name}
    doc.update({k: spec[k] for k in INDEX_OPTIONS if k in spec})
    return doc


def create_index(coll, spec):
    """createIndexes for one spec, with MongoDB's conflict rules."""
    if not isinstance(spec, dict) or not isinstance(spec.get("key"), dict) or not spec["key"]:
        raise CommandError(9, "index specification needs a non-empty 'key' document")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise CommandError(9, "The 'name' field is a required property of an index "
                              "specification")
    key = list(spec["key"].items())
    for existing_name, existing in coll.index_information().items():
        same_key = list(existing["key"]) == key
        if existing_name == name and not same_key:
            raise CommandError(86, "An existing index has the same name as the requested "
                                   "index but a different key: %s" % name)
        if same_key and existing_name != name:
            raise CommandError(85, "Index already exists with a different name: %s"
                               % existing_name)
        if same_key:
            return
    options = {k: spec[k] for k in INDEX_OPTIONS if k in spec}
    try:
        coll.create_index(key, name=name, **options)
    except pymongo.errors.DuplicateKeyError:
        raise CommandError(11000, "E11000 duplicate key error: index build failed: %s"
                           % name)


def collection_info(name, name_only):
    if name_only:
        return {"name": name, "type": "collection"}
    return {"name": name, "type": "collection", "options": {},
            "info": {"readOnly": False},
            "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def parse_user(text):
    """NAME:PASSWORD@DB -> (db, name, password); the password may hold ':' or '@'."""
    name, sep, rest = text.partition(":")
    password, at, db = rest.rpartition("@")
    if not (name and sep and at and db):
        raise argparse.ArgumentTypeError("expected NAME:PASSWORD@DB, got %r" % text)
    return db, name, password


def parse_args(argv):
    parser = argparse.ArgumentParser(description="MongoDB wire-protocol stand-in for "
                                                 "tests (in memory; not MongoDB).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--log", help="append one line per command to this file")
    parser.add_argument("--user", action="append", type=parse_user, default=[],
                        metavar="NAME:PASSWORD@DB", help="enables authentication")
    parser.add_argument("--fail-file", help="while this file exists, commands other "
                                            "than hello fail with code 91 (or the "
                                            "integer the file holds)")
    parser.add_argument("--hang-file", help="while this file exists, replies to the "
                                            "commands it names (or `*`: all) are held "
                                            "back")
    return parser.parse_args(argv)


def write_atomically(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


async def serve(args):
    log = open(args.log, "a") if args.log else None
    standin = StandIn(args.user, args.fail_file, log, args.hang_file)
    server = await asyncio.start_server(standin.serve_connection, args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        write_atomically(args.port_file, "%d\n" % port)
    print("mongod_standin listening on %s:%d" % (args.host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    for writer in list(standin.writers):
        writer.close()
    await asyncio.wait_for(server.wait_closed(), 5)
    if log:
        log.close()


def main(argv=None):
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
