"""Specification of mongod_standin.py, checked with pymongo 3.11, raw wire
messages and a libmongoc client-pool smoke test.

Run: cd /work/main && /usr/bin/python3 -m pytest -q tests/standin

The stand-in is not MongoDB.  The "app relies on" tests pin the exact MongoDB
behaviours the application depends on, so a divergence shows up here first.
"""

import base64
import datetime
import hashlib
import hmac
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import bson
import gridfs
import pymongo
import pytest
from bson.binary import Binary, UuidRepresentation
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from gridfs.errors import NoFile
from pymongo.errors import DuplicateKeyError, OperationFailure

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "mongod_standin.py"
SMOKE_SOURCE = HERE / "gridfs_smoke.c"
PYTHON = "/usr/bin/python3"
CHUNK = 255 * 1024
MIB = 1024 * 1024

ACCESS = ("accessuser", "Pa55-access", "image_records")
ROOT = ("root", "s3:cr@t", "admin")  # ':' and '@' in a password must survive --user


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

class StandIn:
    """A running stand-in process (started by us, stopped by its pid)."""

    def __init__(self, workdir, users=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port_file = self.workdir / "port"
        self.log_file = self.workdir / "commands.log"
        self.fail_file = self.workdir / "fail"
        self.hang_file = self.workdir / "hang"
        self.stderr_file = self.workdir / "stderr"
        args = [PYTHON, str(STANDIN), "--port", "0", "--port-file", str(self.port_file),
                "--log", str(self.log_file), "--fail-file", str(self.fail_file),
                "--hang-file", str(self.hang_file)]
        for name, password, db in users:
            args += ["--user", "%s:%s@%s" % (name, password, db)]
        with open(self.stderr_file, "w") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        self.banner = self.proc.stdout.readline().strip()  # EOF if it died
        match = re.fullmatch(r"mongod_standin listening on 127\.0\.0\.1:(\d+)", self.banner)
        assert match, "stand-in did not start: %r %s" % (self.banner, self.stderr())
        self.port = int(match.group(1))

    def stderr(self):
        return self.stderr_file.read_text()

    def uri(self, user=None, mechanism=None, **options):
        options.setdefault("serverSelectionTimeoutMS", 2000)
        credentials, path = "", ""
        if user:
            name, password, db = user
            credentials = "%s:%s@" % (urllib.parse.quote_plus(name),
                                      urllib.parse.quote_plus(password))
            path, options["authSource"] = db, db
        if mechanism:
            options["authMechanism"] = mechanism
        query = "&".join("%s=%s" % item for item in options.items())
        return "mongodb://%s127.0.0.1:%d/%s?%s" % (credentials, self.port, path, query)

    def client(self, user=None, mechanism=None, **options):
        return pymongo.MongoClient(self.uri(user, mechanism, **options))

    def stop(self, sig=signal.SIGTERM, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()


class Wire:
    """A bare socket speaking OP_MSG / OP_QUERY, to see exactly what is on the wire."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.request_id = 0

    def close(self):
        self.sock.close()

    def send(self, opcode, payload):
        self.request_id += 1
        self.sock.sendall(struct.pack("<iiii", 16 + len(payload), self.request_id, 0, opcode)
                          + payload)
        return self.request_id

    def receive(self):
        length, _, response_to, opcode = struct.unpack("<iiii", self.recv_exactly(16))
        return opcode, response_to, self.recv_exactly(length - 16)

    def recv_exactly(self, n):
        data = b""
        while len(data) < n:  # bounded: each pass adds bytes or raises
            more = self.sock.recv(n - len(data))
            if not more:
                raise ConnectionError("stand-in closed the connection")
            data += more
        return data

    def msg(self, command, sequences=(), flags=0, raw_body=None):
        body = raw_body if raw_body is not None else bson.encode(command)
        payload = struct.pack("<I", flags) + b"\x00" + body
        for name, docs in sequences:
            seq = name.encode() + b"\x00" + b"".join(bson.encode(d) for d in docs)
            payload += b"\x01" + struct.pack("<i", 4 + len(seq)) + seq
        request_id = self.send(2013, payload)
        if flags & 2:  # moreToCome: no reply is due
            return None
        opcode, response_to, body = self.receive()
        assert (opcode, response_to) == (2013, request_id)
        return bson.decode(body[5:])

    def query(self, namespace, command):
        payload = (struct.pack("<i", 0) + namespace.encode() + b"\x00"
                   + struct.pack("<ii", 0, -1) + bson.encode(command))
        self.send(2004, payload)
        opcode, _, body = self.receive()
        assert opcode == 1
        flags, _, _, returned = struct.unpack("<iqii", body[:20])
        assert returned == 1
        return flags, bson.decode(body[20:])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Stand-in with authentication enabled (two users)."""
    standin = StandIn(tmp_path_factory.mktemp("auth"), users=[ACCESS, ROOT])
    yield standin
    assert standin.stop() == 0, "SIGTERM must exit with status 0"
    assert "Traceback" not in standin.stderr(), standin.stderr()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """Stand-in without --user: no authentication needed."""
    standin = StandIn(tmp_path_factory.mktemp("open"))
    yield standin
    assert standin.stop() == 0
    assert "Traceback" not in standin.stderr(), standin.stderr()


@pytest.fixture(scope="module")
def db(server):
    client = server.client(ACCESS, "SCRAM-SHA-256")
    yield client[ACCESS[2]]
    client.close()


@pytest.fixture
def wire(open_server):
    connection = Wire(open_server.port)
    yield connection
    connection.close()


def payload(size, seed=0):
    return random.Random(seed * 7919 + size).randbytes(size)


def code_of(call):
    with pytest.raises(OperationFailure) as info:
        call()
    return info.value.code


# --------------------------------------------------------------------------
# Start-up, shutdown, logging
# --------------------------------------------------------------------------

def test_startup_announces_the_port_and_writes_the_port_file(server):
    assert server.banner == "mongod_standin listening on 127.0.0.1:%d" % server.port
    assert server.port_file.read_text().strip() == str(server.port)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_promptly_with_status_0_even_with_clients_connected(tmp_path, sig):
    standin = StandIn(tmp_path)
    idle = Wire(standin.port)
    assert idle.msg({"ping": 1, "$db": "admin"})["ok"] == 1
    started = time.monotonic()
    assert standin.stop(sig) == 0
    assert time.monotonic() - started < 3
    idle.close()


def test_log_has_one_line_per_command_and_no_passwords(server, db):
    db.command("ping")
    db.command("createUser", "logged", pwd="never-logged-secret", roles=[])
    db.command("dropUser", "logged")
    log = server.log_file.read_text()
    assert re.search(r"conn=\d+ db=image_records cmd=ping coll=- ok=1", log)
    for secret in ("never-logged-secret", ACCESS[1], ROOT[1]):
        assert secret not in log


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------

AUTH_CASES = [
    # id,                        user,                                  mechanism,       ok
    ("sha256",                   ACCESS,                                "SCRAM-SHA-256", True),
    ("sha1",                     ACCESS,                                "SCRAM-SHA-1",   True),
    ("negotiated",               ACCESS,                                None,            True),
    ("password with : and @",    ROOT,                                  "SCRAM-SHA-256", True),
    ("wrong password sha256",    (ACCESS[0], "nope", ACCESS[2]),        "SCRAM-SHA-256", False),
    ("wrong password sha1",      (ACCESS[0], "nope", ACCESS[2]),        "SCRAM-SHA-1",   False),
    ("unknown user",             ("mallory", ACCESS[1], ACCESS[2]),     "SCRAM-SHA-256", False),
    ("wrong authSource",         (ACCESS[0], ACCESS[1], "admin"),       "SCRAM-SHA-256", False),
]


@pytest.mark.parametrize("user,mechanism,ok", [c[1:] for c in AUTH_CASES],
                         ids=[c[0] for c in AUTH_CASES])
def test_scram_authentication(server, user, mechanism, ok):
    client = server.client(user, mechanism)
    try:
        if ok:
            status = client[user[2]].command("connectionStatus")
            assert status["authInfo"]["authenticatedUsers"] == [{"user": user[0],
                                                                  "db": user[2]}]
        else:
            assert code_of(lambda: client[user[2]].command("connectionStatus")) == 18
    finally:
        client.close()


def scram_sha256_by_hand(wire, user, skip_empty_exchange):
    """Run SCRAM-SHA-256 over a bare socket; return (rounds, final reply, server
    signature ok).  Lets us take the 3-round path no bundled driver takes."""
    name, password, db = user
    first_bare = "n=%s,r=%s" % (name, base64.b64encode(b"client-nonce-123").decode())
    start = wire.msg({"saslStart": 1, "mechanism": "SCRAM-SHA-256", "$db": db,
                      "payload": ("n,," + first_bare).encode(),
                      "options": {"skipEmptyExchange": skip_empty_exchange}})
    server_first = start["payload"].decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    without_proof = "c=biws,r=" + fields["r"]
    auth_message = ",".join((first_bare, server_first, without_proof)).encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    reply = wire.msg({"saslContinue": 1, "conversationId": start["conversationId"],
                      "payload": (without_proof + ",p=" + base64.b64encode(proof).decode())
                      .encode(), "$db": db})
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    expected = "v=" + base64.b64encode(hmac.new(server_key, auth_message, "sha256")
                                       .digest()).decode()
    rounds = 2
    if reply.get("ok") == 1 and not reply["done"]:
        signature_ok = reply["payload"].decode() == expected
        reply, rounds = wire.msg({"saslContinue": 1, "conversationId": 1, "payload": b"",
                                  "$db": db}), 3
    else:
        signature_ok = reply.get("payload", b"").decode() == expected
    return rounds, reply, signature_ok


SCRAM_ROUND_CASES = [
    # skipEmptyExchange, password,   rounds, authenticated
    (True,               ACCESS[1],  2,      True),
    (False,              ACCESS[1],  3,      True),
    (True,               "wrong",    2,      False),
]


@pytest.mark.parametrize("skip_empty,password,rounds,authenticated", SCRAM_ROUND_CASES)
def test_scram_rounds_on_the_wire(server, skip_empty, password, rounds, authenticated):
    wire = Wire(server.port)
    try:
        user = (ACCESS[0], password, ACCESS[2])
        got_rounds, reply, signature_ok = scram_sha256_by_hand(wire, user, skip_empty)
        assert got_rounds == rounds
        status = wire.msg({"connectionStatus": 1, "$db": "admin"})
        if authenticated:
            assert reply["ok"] == 1 and reply["done"] is True and signature_ok
            assert status["authInfo"]["authenticatedUsers"] == [{"user": ACCESS[0],
                                                                  "db": ACCESS[2]}]
        else:
            assert reply["ok"] == 0 and reply["code"] == 18
            assert status["code"] == 13
    finally:
        wire.close()


UNAUTHENTICATED_CASES = [
    # command (on image_records),            allowed without authentication
    ({"ping": 1},                            True),
    ({"buildInfo": 1},                       True),
    ({"hello": 1},                           True),
    ({"isMaster": 1},                        True),
    ({"find": "fs.files"},                   False),
    ({"insert": "x", "documents": [{}]},     False),
    ({"listCollections": 1},                 False),
    ({"createUser": "u", "pwd": "p", "roles": []}, False),
]


@pytest.mark.parametrize("command,allowed", UNAUTHENTICATED_CASES,
                         ids=[next(iter(c[0])) for c in UNAUTHENTICATED_CASES])
def test_without_authentication_only_handshake_commands_run(server, command, allowed):
    client = server.client()
    try:
        run = lambda: client.image_records.command(command)  # noqa: E731
        if allowed:
            assert run()["ok"] == 1
        else:
            assert code_of(run) == 13
    finally:
        client.close()


def test_without_users_no_authentication_is_needed(open_server):
    client = open_server.client()
    try:
        client.anything.things.insert_one({"a": 1})
        assert client.anything.things.count_documents({}) == 1
    finally:
        client.close()


def test_created_user_can_log_in_until_dropped(server, db):
    db.command("createUser", "newbie", pwd="newbie-pw", roles=["readWrite"])
    newbie = ("newbie", "newbie-pw", ACCESS[2])
    for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        client = server.client(newbie, mechanism)
        assert client.image_records.command("connectionStatus")["ok"] == 1
        client.close()
    db.command("dropUser", "newbie")
    client = server.client(newbie, "SCRAM-SHA-256")
    assert code_of(lambda: client.image_records.command("connectionStatus")) == 18
    client.close()


# --------------------------------------------------------------------------
# GridFS through pymongo
# --------------------------------------------------------------------------

ROUND_TRIP_SIZES = [
    ("empty", 0), ("3 B", 3), ("exactly one chunk", CHUNK), ("one chunk + 1", CHUNK + 1),
    ("1 MiB", MIB), ("10 MiB", 10 * MIB), ("40 MiB", 40 * MIB),
]


@pytest.mark.parametrize("size", [s for _, s in ROUND_TRIP_SIZES],
                         ids=[name for name, _ in ROUND_TRIP_SIZES])
def test_gridfs_round_trip_is_byte_for_byte(db, size):
    bucket = gridfs.GridFSBucket(db, bucket_name="roundtrip")
    data = payload(size)
    file_id = bucket.upload_from_stream("f.bin", data, metadata={"size": size})
    assert bucket.open_download_stream(file_id).read() == data
    assert db["roundtrip.chunks"].count_documents({"files_id": file_id}) == -(-size // CHUNK)
    assert db["roundtrip.files"].find_one({"_id": file_id})["length"] == size
    bucket.delete(file_id)


CATALOGUE = [  # (owner, tags); the position is metadata.idx and the upload order
    ("alice", ["blue"]), ("bob", ["red"]), ("alice", ["blue"]),
    ("carol", ["red"]), ("alice", ["blue", "red"]), ("bob", ["red"]),
]


@pytest.fixture(scope="module")
def catalogue(db):
    """Six small files with metadata, uploaded in a known order (idx 0..5)."""
    bucket = gridfs.GridFSBucket(db, bucket_name="catalogue")
    for idx, (owner, tags) in enumerate(CATALOGUE):
        bucket.upload_from_stream("f%d" % idx, payload(10, idx),
                                  metadata={"owner": owner, "idx": idx, "tags": tags})
        time.sleep(0.003)  # distinct uploadDate (millisecond precision)
    return bucket


NEW, OLD = [("uploadDate", -1)], [("uploadDate", 1)]  # newest / oldest first
ALICE, NOBODY = {"metadata.owner": "alice"}, {"metadata.owner": "nobody"}
QUERY_CASES = [
    # id,                  filter,                                  sort, skip, limit, idx
    ("owner, newest",      ALICE,                                   NEW,  0,    0,     [4, 2, 0]),
    ("owner, skip+limit",  ALICE,                                   NEW,  1,    1,     [2]),
    ("all, first page",    {},                                      NEW,  0,    2,     [5, 4]),
    ("all, last page",     {},                                      NEW,  4,    2,     [1, 0]),
    ("range, oldest",      {"metadata.idx": {"$gte": 3}},           OLD,  0,    0,     [3, 4, 5]),
    ("array membership",   {"metadata.tags": "blue"},               OLD,  0,    0,     [0, 2, 4]),
    ("$in",                {"metadata.owner": {"$in": ["bob", "carol"]}}, OLD, 0, 0,  [1, 3, 5]),
    ("no match",           NOBODY,                                  NEW,  0,    0,     []),
    ("skip past the end",  {},                                      NEW,  10,   0,     []),
]


@pytest.mark.parametrize("query,sort,skip,limit,expected", [c[1:] for c in QUERY_CASES],
                         ids=[c[0] for c in QUERY_CASES])
def test_gridfs_find_by_metadata(catalogue, query, sort, skip, limit, expected):
    found = catalogue.find(query, sort=sort, skip=skip, limit=limit)
    assert [f.metadata["idx"] for f in found] == expected


def test_delete_by_id_removes_the_file_and_its_chunks(db):
    bucket = gridfs.GridFSBucket(db, bucket_name="deleting")
    file_id = bucket.upload_from_stream("three-chunks", payload(2 * CHUNK + 5))
    assert db["deleting.chunks"].count_documents({"files_id": file_id}) == 3
    bucket.delete(file_id)
    assert db["deleting.files"].count_documents({"_id": file_id}) == 0
    assert db["deleting.chunks"].count_documents({"files_id": file_id}) == 0
    with pytest.raises(NoFile):
        bucket.delete(file_id)


def test_missing_file_download_raises_nofile(db):
    bucket = gridfs.GridFSBucket(db, bucket_name="roundtrip")
    with pytest.raises(NoFile):
        bucket.open_download_stream(ObjectId())


def test_bucket_indexes_exist_and_chunk_index_is_unique(db):
    bucket = gridfs.GridFSBucket(db, bucket_name="indexed")
    file_id = bucket.upload_from_stream("x", b"abc")
    chunk_indexes = {i["name"]: i for i in db["indexed.chunks"].list_indexes()}
    assert dict(chunk_indexes["files_id_1_n_1"]["key"]) == {"files_id": 1, "n": 1}
    assert chunk_indexes["files_id_1_n_1"]["unique"] is True
    file_indexes = [dict(i["key"]) for i in db["indexed.files"].list_indexes()]
    assert {"filename": 1, "uploadDate": 1} in file_indexes
    with pytest.raises(DuplicateKeyError) as info:
        db["indexed.chunks"].insert_one({"files_id": file_id, "n": 0, "data": b"dup"})
    assert info.value.code == 11000


# --------------------------------------------------------------------------
# MongoDB behaviours the application relies on
# --------------------------------------------------------------------------

def test_app_relies_on_empty_projection_meaning_whole_document(db):
    db.projection.insert_one({"_id": 1, "a": 1, "b": {"c": 2}})
    reply = db.command("find", "projection", filter={"_id": 1}, projection={})
    assert reply["cursor"]["firstBatch"] == [{"_id": 1, "a": 1, "b": {"c": 2}}]


def test_app_relies_on_delete_reporting_n(db):
    db.deletes.insert_many([{"k": 1}, {"k": 1}, {"k": 1}, {"k": 2}])
    one = db.command("delete", "deletes", deletes=[{"q": {"k": 1}, "limit": 1}])
    rest = db.command("delete", "deletes", deletes=[{"q": {"k": 1}, "limit": 0}])
    none = db.command("delete", "deletes", deletes=[{"q": {"k": 9}, "limit": 1}])
    assert (one["n"], rest["n"], none["n"]) == (1, 2, 0)


def test_app_relies_on_missing_collection_errors_being_code_26(db):
    assert code_of(lambda: db.command("listIndexes", "never_created")) == 26
    assert code_of(lambda: db.command("drop", "never_created")) == 26


def test_app_relies_on_replies_capped_at_16_mib_with_getmore(db):
    db.big.insert_many([{"_id": i, "blob": b"\x00" * MIB} for i in range(20)])
    first = db.command("find", "big", sort={"_id": 1}, batchSize=1000)["cursor"]
    assert len(first["firstBatch"]) == 15  # 16 x (1 MiB + overhead) > 16 MiB
    more = db.command("getMore", Int64(first["id"]), collection="big")["cursor"]
    assert [d["_id"] for d in more["nextBatch"]] == list(range(15, 20))
    assert more["id"] == 0
    assert code_of(lambda: db.command("getMore", Int64(first["id"]), collection="big")) == 43


def test_app_relies_on_oversized_documents_being_refused(wire):
    big = {"_id": 1, "blob": b"\x00" * (16 * MIB)}
    reply = wire.msg({"insert": "huge", "$db": "t"}, sequences=[("documents", [big])])
    assert reply["n"] == 0 and reply["writeErrors"][0]["code"] == 10334


def test_index_management_follows_mongodb_conflict_rules(db):
    db.idx.insert_many([{"a": 1, "b": 1}, {"a": 1, "b": 2}])
    create = lambda *specs: db.command("createIndexes", "idx", indexes=list(specs))  # noqa
    assert create({"key": {"b": 1}, "name": "b_1", "unique": True})["numIndexesAfter"] == 2
    assert create({"key": {"b": 1}, "name": "b_1", "unique": True}).get("note")
    assert code_of(lambda: create({"key": {"a": 1}, "name": "a_1", "unique": True})) == 11000
    assert code_of(lambda: create({"key": {"a": 1}, "name": "b_1"})) == 86
    assert code_of(lambda: create({"key": {"b": 1}, "name": "other"})) == 85
    assert db.command("dropIndexes", "idx", index="b_1")["nIndexesWas"] == 2
    assert code_of(lambda: db.command("dropIndexes", "idx", index="b_1")) == 27


WRITE_ERROR_CASES = [
    # ordered, inserted, failing indexes
    (True,     1,        [1]),
    (False,    3,        [1]),
]


@pytest.mark.parametrize("ordered,inserted,failed", WRITE_ERROR_CASES)
def test_insert_write_errors_respect_ordered(db, ordered, inserted, failed):
    name = "ordered_%s" % ordered
    docs = [{"_id": 1}, {"_id": 1}, {"_id": 2}, {"_id": 3}]
    reply = db.command("insert", name, documents=docs, ordered=ordered)
    assert reply["n"] == inserted
    assert [(e["index"], e["code"]) for e in reply["writeErrors"]] == [(i, 11000) for i in failed]


def test_collections_and_databases(open_server):
    client = open_server.client()
    try:
        scratch = client.scratch_db
        scratch.command("create", "one")
        scratch.two.insert_one({})
        assert code_of(lambda: scratch.command("create", "one")) == 48
        assert sorted(scratch.list_collection_names()) == ["one", "two"]
        listed = scratch.command("listCollections", filter={"name": "two"}, nameOnly=True)
        assert listed["cursor"]["firstBatch"] == [{"name": "two", "type": "collection"}]
        assert "scratch_db" in client.list_database_names()
        assert client.drop_database("scratch_db") is None
        assert scratch.list_collection_names() == []
    finally:
        client.close()


def test_killcursors_reports_killed_and_unknown_cursors(db):
    db.kill.insert_many([{"i": i} for i in range(5)])
    cursor_id = db.command("find", "kill", batchSize=2)["cursor"]["id"]
    reply = db.command("killCursors", "kill", cursors=[Int64(cursor_id), Int64(12345)])
    assert reply["cursorsKilled"] == [cursor_id] and reply["cursorsNotFound"] == [12345]


UPDATE_CASES = [
    # id,         call on the collection,                              matched, modified, upserted
    ("$set one",  lambda c: c.update_one({"k": 1}, {"$set": {"v": 9}}),     1, 1, False),
    ("$inc many", lambda c: c.update_many({"k": 1}, {"$inc": {"v": 1}}),    2, 2, False),
    ("replace",   lambda c: c.replace_one({"k": 2}, {"k": 2, "v": "new"}),  1, 1, False),
    ("no match",  lambda c: c.update_one({"k": 7}, {"$set": {"v": 0}}),     0, 0, False),
    ("upsert",    lambda c: c.update_one({"k": 8}, {"$set": {"v": 0}}, True), 0, 0, True),
]


@pytest.mark.parametrize("call,matched,modified,upserted", [c[1:] for c in UPDATE_CASES],
                         ids=[c[0] for c in UPDATE_CASES])
def test_updates_report_counts(db, call, matched, modified, upserted):
    db.updates.drop()
    db.updates.insert_many([{"k": 1, "v": 0}, {"k": 1, "v": 0}, {"k": 2, "v": 0}])
    result = call(db.updates)
    assert (result.matched_count, result.modified_count) == (matched, modified)
    assert (result.upserted_id is not None) == upserted


def test_counts_and_distinct(db):
    db.counting.insert_many([{"g": i % 3} for i in range(10)])
    assert db.counting.count_documents({"g": 0}) == 4
    assert db.counting.count_documents({}, skip=2, limit=5) == 5
    assert db.command("count", "counting", query={"g": 1})["n"] == 3
    assert sorted(db.counting.distinct("g")) == [0, 1, 2]


def test_bson_types_round_trip_exactly(db):
    coll = db.get_collection("types", codec_options=CodecOptions(
        uuid_representation=UuidRepresentation.UNSPECIFIED))
    doc = {"_id": Binary(uuid.uuid4().bytes, 4), "legacy_uuid": Binary(b"0123456789abcdef", 3),
           "when": datetime.datetime(2020, 1, 2, 3, 4, 5, 678000), "big": Int64(1 << 40),
           "small": 7, "dec": Decimal128("1.5"), "raw": b"\x00\xff", "nested": {"l": [1, "a"]}}
    coll.insert_one(dict(doc))
    assert coll.find_one({"_id": doc["_id"]}) == doc


# --------------------------------------------------------------------------
# Wire protocol details
# --------------------------------------------------------------------------

def test_legacy_op_query_handshake_advertises_op_msg(wire):
    flags, reply = wire.query("admin.$cmd", {"isMaster": 1, "helloOk": True})
    assert flags == 0 and reply["ok"] == 1 and reply["ismaster"] is True
    assert reply["minWireVersion"] == 0 and reply["maxWireVersion"] >= 13
    assert reply["helloOk"] is True and reply["maxBsonObjectSize"] == 16 * MIB


def test_kind1_document_sequences_and_more_to_come(wire):
    docs = [{"_id": 1}, {"_id": 2}]
    assert wire.msg({"insert": "seq", "$db": "t"}, sequences=[("documents", docs)])["n"] == 2
    # w:0 write: moreToCome set, no reply; the next reply must answer the find.
    wire.msg({"insert": "seq", "$db": "t", "writeConcern": {"w": 0}},
             sequences=[("documents", [{"_id": 3}])], flags=2)
    found = wire.msg({"find": "seq", "$db": "t", "sort": {"_id": 1}})
    assert [d["_id"] for d in found["cursor"]["firstBatch"]] == [1, 2, 3]


ERROR_CASES = [
    # id,                  command,                                      code
    ("unknown command",    {"noSuchCommand": 1, "$db": "t"},             59),
    ("missing $db",        {"ping": 1},                                  40571),
    ("bad filter type",    {"find": "seq", "filter": 5, "$db": "t"},     14),
    ("bad delete limit",   None,                                         9),
]


@pytest.mark.parametrize("command,code", [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_errors_are_replies_and_the_connection_stays_open(wire, command, code):
    if command is None:
        reply = wire.msg({"delete": "seq", "deletes": [{"q": {}, "limit": 5}], "$db": "t"})
        assert reply["writeErrors"][0]["code"] == code
    else:
        reply = wire.msg(command)
        assert reply["ok"] == 0 and reply["code"] == code and reply["errmsg"]
    assert wire.msg({"ping": 1, "$db": "admin"})["ok"] == 1


def test_malformed_bson_is_an_error_reply_not_a_disconnect(wire):
    garbage = struct.pack("<i", 12) + b"\x7fbad\x00\x00\x00\x00"
    reply = wire.msg(None, raw_body=garbage)
    assert reply["ok"] == 0 and reply["code"] == 22
    assert wire.msg({"ping": 1, "$db": "admin"})["ok"] == 1


def test_unknown_command_through_pymongo_keeps_the_same_connection(open_server):
    client = open_server.client(maxPoolSize=1)
    try:
        before = client.admin.command("hello")["connectionId"]
        assert code_of(lambda: client.admin.command("frobnicate")) == 59
        assert client.admin.command("hello")["connectionId"] == before
    finally:
        client.close()


def test_fail_file_injects_errors_while_it_exists(open_server, wire):
    try:
        open_server.fail_file.write_text("")
        assert wire.msg({"ping": 1, "$db": "admin"})["code"] == 91
        assert wire.msg({"hello": 1, "$db": "admin"})["ok"] == 1
        open_server.fail_file.write_text("11600\n")
        assert wire.msg({"find": "x", "$db": "t"})["code"] == 11600
    finally:
        open_server.fail_file.unlink()
    assert wire.msg({"ping": 1, "$db": "admin"})["ok"] == 1


def test_fail_file_names_commands_and_fails_once(open_server, wire):
    """Only the named commands fail; with `once`, only the first of them,
    and the file is gone afterwards."""
    try:
        open_server.fail_file.write_text("find once 8\n")
        assert wire.msg({"ping": 1, "$db": "admin"})["ok"] == 1
        assert wire.msg({"find": "x", "$db": "t"})["code"] == 8
        assert not open_server.fail_file.exists()
        assert wire.msg({"find": "x", "$db": "t"})["ok"] == 1
    finally:
        if open_server.fail_file.exists():
            open_server.fail_file.unlink()


def test_hang_file_holds_back_the_replies_it_names(open_server, wire):
    """Named commands run but get no reply while the file exists; others
    are answered; removing the file releases the held reply."""
    try:
        open_server.hang_file.write_text("saslStart ping\n")
        assert wire.msg({"hello": 1, "$db": "admin"})["ok"] == 1
        ping = wire.send(2013, struct.pack("<I", 0) + b"\x00"
                         + bson.encode({"ping": 1, "$db": "admin"}))
        wire.sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            wire.sock.recv(1, socket.MSG_PEEK)
    finally:
        open_server.hang_file.unlink()
    wire.sock.settimeout(10)
    opcode, response_to, body = wire.receive()
    assert (opcode, response_to) == (2013, ping)
    assert bson.decode(body[5:])["ok"] == 1
    assert wire.msg({"ping": 1, "$db": "admin"})["ok"] == 1


# --------------------------------------------------------------------------
# libmongoc: client pool, 4 threads, GridFS bucket API
# --------------------------------------------------------------------------

def test_libmongoc_pool_gridfs_smoke(server, tmp_path):
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmongoc-1.0"],
                           capture_output=True, text=True, check=True).stdout.split()
    binary = tmp_path / "gridfs_smoke"
    subprocess.run([shutil.which("cc") or "cc", "-std=c11", "-D_POSIX_C_SOURCE=200809L",
                    "-Wall", "-Wextra", "-O1", "-o", str(binary), str(SMOKE_SOURCE),
                    *flags, "-lpthread"], check=True)
    log_start = server.log_file.stat().st_size
    uri = server.uri(ACCESS)  # negotiated mechanism: SCRAM-SHA-256, speculative
    run = subprocess.run([str(binary), uri, str(tmp_path), "4"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 threads, 0 failures" in run.stdout
    with open(server.log_file) as log:
        log.seek(log_start)
        commands = re.findall(r" cmd=(\w+) ", log.read())
    # libmongoc folds saslStart into its handshake (speculativeAuthenticate),
    # and the 40 MiB download needs getMore past the first 16 MiB batch.
    assert "saslStart" not in commands and "saslContinue" in commands
    assert "getMore" in commands and "killCursors" in commands


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
