"""Uploads that never completed are removed in the background
(src/modules/sweeper.c): a crash or a lost MongoDB can leave an upload's
documents marked incomplete; each worker removes those whose upload began
over an hour ago, a moment after it starts and every 10 minutes after.

The leftovers are written here straight into MongoDB with an old
uploadDate, then Kore instance 0 is restarted so its workers sweep.
"""

import datetime
import time

import pytest
from bson import ObjectId
from pymongo import MongoClient

HOUR = datetime.timedelta(hours=1)

# name: (metadata.complete, age of the upload, swept?)
CASES = {
    "incomplete, two hours old": (False, 2 * HOUR, True),
    "incomplete, 61 minutes old": (False, HOUR + datetime.timedelta(minutes=1), True),
    "incomplete, a minute old (may still be uploading)": (False, datetime.timedelta(minutes=1), False),
    "complete, two hours old": (True, 2 * HOUR, False),
}


def leftover(db, complete, age):
    oid = ObjectId()
    db["fs.files"].insert_one({
        "_id": oid, "length": 10, "chunkSize": 5,
        "uploadDate": datetime.datetime.utcnow() - age,
        "filename": "left.png",
        "metadata": {"owner": "999999", "tag": "original", "original": None,
                     "contentType": "image/png", "complete": complete}})
    db["fs.chunks"].insert_many([
        {"files_id": oid, "n": n, "data": b"01234"} for n in range(2)])
    return oid


def present(db, oid):
    return (db["fs.files"].count_documents({"_id": oid}),
            db["fs.chunks"].count_documents({"files_id": oid}))


@pytest.fixture
def db(stack):
    with MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000) as c:
        yield c["image_records"]


def test_incomplete_uploads_older_than_an_hour_are_removed(stack, db):
    ids = {name: leftover(db, complete, age)
           for name, (complete, age, _) in CASES.items()}
    try:
        stack.restart_kore(0)
        swept = [ids[n] for n, (_, _, gone) in CASES.items() if gone]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                present(db, oid) != (0, 0) for oid in swept):
            time.sleep(0.2)
        for name, (_, _, gone) in CASES.items():
            want = (0, 0) if gone else (1, 2)
            assert present(db, ids[name]) == want, name
        assert 'msg="removed incomplete uploads" files=2' in stack.app_log()
    finally:
        for oid in ids.values():
            db["fs.chunks"].delete_many({"files_id": oid})
            db["fs.files"].delete_one({"_id": oid})
