#!/usr/bin/python3
"""Entrypoint of microgo-test/mongodb (see the Dockerfile): starts the
stand-in on 0.0.0.0:27017 with the users the official mongo image would
have after its first start: the root user from MONGO_INITDB_ROOT_USERNAME
and MONGO_INITDB_ROOT_PASSWORD (in admin), and every user that a *.js
script in /docker-entrypoint-initdb.d creates with createUser.

As in the official image, each of the two may come from a file instead:
MONGO_INITDB_ROOT_USERNAME_FILE, MONGO_INITDB_ROOT_PASSWORD_FILE (setting a
variable and its _FILE is an error; trailing newlines are dropped, as the
shell's $(< file) does). The scripts run for real, in Node, with a stand-in
`db` that records createUser (run-init-js.js); one that fails, or asks
`db` for anything else, stops the container.

The stand-in keeps its data in memory, so unlike the official image (which
runs the scripts only into an empty /data/db) it runs them on every start.
It runs in this process, not as a new program, so that no password is on
a command line (`docker top`, ps on the host)."""

import glob
import importlib.util
import json
import os
import subprocess
import sys

STANDIN = "/usr/local/lib/mongod-standin/mongod_standin.py"
RUN_INIT_JS = "/usr/local/lib/mongod-standin/run-init-js.js"


def fail(msg):
    sys.exit("docker-entrypoint: " + msg)


def file_env(var):
    """VAR, or the contents of the file VAR_FILE names (the official
    entrypoint's file_env); VAR_FILE is removed from the environment."""
    value, path = os.environ.get(var, ""), os.environ.pop(var + "_FILE", "")
    if value and path:
        fail(f"both {var} and {var}_FILE are set (but are exclusive)")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().rstrip("\n")
        except OSError as exc:
            fail(f"{var}_FILE: {exc}")
    os.environ[var] = value
    return value


def users_from_script(path):
    r = subprocess.run(["node", RUN_INIT_JS, path], stdout=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        fail(f"{path} failed (status {r.returncode})")
    try:
        created = json.loads(r.stdout)
    except ValueError:
        fail(f"{path}: the runner's answer is not JSON")
    for u in created:
        if ":" in u["user"]:
            fail(f"{path}: user {u['user']!r}: the stand-in takes no ':' in a user name")
    return [f"{u['user']}:{u['pwd']}@{u['db']}" for u in created]


def main():
    root_user = file_env("MONGO_INITDB_ROOT_USERNAME")
    root_pwd = file_env("MONGO_INITDB_ROOT_PASSWORD")
    if bool(root_user) != bool(root_pwd):
        fail("set both MONGO_INITDB_ROOT_USERNAME and _PASSWORD, or neither")
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
    # The official entrypoint does not hand the passwords to mongod either.
    for var in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"):
        os.environ.pop(var, None)

    args = ["--host", "0.0.0.0", "--port", "27017"]
    for u in users:
        args += ["--user", u]
    args += sys.argv[1:]
    spec = importlib.util.spec_from_file_location("mongod_standin", STANDIN)
    standin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standin)
    sys.exit(standin.main(args))


if __name__ == "__main__":
    main()
