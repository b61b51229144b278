#!/usr/bin/python3
"""Entrypoint of microgo-test/mongodb (see the Dockerfile): starts the
stand-in on 0.0.0.0:27017 with the users the official mongo image would
have after its first start: the root user from MONGO_INITDB_ROOT_USERNAME /
MONGO_INITDB_ROOT_PASSWORD (in admin), and every user that a *.js script in
/docker-entrypoint-initdb.d creates with createUser.

The scripts are read, not run. Understood: `db = db.getSiblingDB("NAME")`
(or `db.getSiblingDB("NAME").createUser(...)`) to choose the database, and
createUser({user: "...", pwd: "..."}) with string literals. A script that
calls createUser in any other form stops the container: a test must not
pass with a user silently missing."""

import glob
import os
import re
import sys

STANDIN = "/usr/local/lib/mongod-standin/mongod_standin.py"

SIBLING = re.compile(r"""getSiblingDB\(\s*(['"])(?P<db>[^'"]+)\1\s*\)""")
CREATE = re.compile(r"""createUser\s*\(\s*\{(?P<body>.*?)\}\s*\)""", re.S)
FIELD = r"""\b{}\s*:\s*(['"])(?P<v>(?:\\.|(?!\1).)*)\1"""


def js_string(body, name):
    m = re.search(FIELD.format(name), body, re.S)
    return None if m is None else re.sub(r"\\(.)", r"\1", m.group("v"))


def users_from_script(path):
    text = open(path, encoding="utf-8").read()
    # Drop // and /* */ comments (the scripts' comments name createUser too).
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"(?m)^\s*//.*$", "", text)
    users = []
    db = "test"
    pos = 0
    for m in CREATE.finditer(text):
        for s in SIBLING.finditer(text, pos, m.start()):
            db = s.group("db")
        pos = m.end()
        user, pwd = js_string(m.group("body"), "user"), js_string(m.group("body"), "pwd")
        if not user or pwd is None:
            sys.exit(f"docker-entrypoint: {path}: a createUser this stand-in cannot read")
        users.append(f"{user}:{pwd}@{db}")
    if "createUser" in text and not users:
        sys.exit(f"docker-entrypoint: {path}: a createUser this stand-in cannot read")
    return users


def main():
    args = [sys.executable, STANDIN, "--host", "0.0.0.0", "--port", "27017"]
    root_user = os.environ.get("MONGO_INITDB_ROOT_USERNAME")
    root_pwd = os.environ.get("MONGO_INITDB_ROOT_PASSWORD")
    if bool(root_user) != bool(root_pwd):
        sys.exit("docker-entrypoint: set both MONGO_INITDB_ROOT_USERNAME and _PASSWORD, or neither")
    users = [f"{root_user}:{root_pwd}@admin"] if root_user else []
    for path in sorted(glob.glob("/docker-entrypoint-initdb.d/*")):
        if path.endswith(".js"):
            found = users_from_script(path)
            print(f"docker-entrypoint: {path}: users "
                  + ", ".join(u.split(":")[0] + "@" + u.rsplit("@", 1)[1] for u in found),
                  flush=True)
            users += found
        else:
            print(f"docker-entrypoint: ignoring {path}", flush=True)
    for u in users:
        args += ["--user", u]
    args += sys.argv[1:]
    os.execv(sys.executable, args)


if __name__ == "__main__":
    main()
