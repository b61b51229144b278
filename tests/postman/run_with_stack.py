#!/usr/bin/python3
"""The Postman collection, run by newman against a fresh local stack.

tests/run_all.py (`make test`) calls this as the `postman` suite. It starts
tools/stack.py's Stack (private MariaDB, MongoDB or its stand-in,
2 Kore instances, nginx; everything in a temporary run directory), runs
tests/postman/run.sh against nginx, stops the stack, and ends with
run.sh's line `N passed, N failed` (newman's assertion counts).

A Kore worker that died or a sandbox violation during the run counts as one
more failure (the collection may pass while a task thread was killed).
The exit status is 0 only if nothing failed.

  tests/postman/run_with_stack.py [extra newman options...]
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from stack import Stack, StackError  # noqa: E402
from counted import finish  # noqa: E402


def main(argv):
    stack = Stack(kore_instances=2)
    try:
        stack.start()
    except StackError as e:
        print("run_with_stack: the stack did not start: %s" % e, flush=True)
        print("0 passed, 1 failed")
        return 1

    try:
        proc = subprocess.run([os.path.join(HERE, "run.sh"), stack.nginx_url] + argv,
                              cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        out = proc.stdout
        problems = stack.kore_problems()
        if proc.returncode != 0 or problems:
            stack.keep_run_dir = True
    finally:
        stack.stop()

    passed, failed = finish(stack, out, proc.returncode, problems, "newman (run.sh)", "assertion")
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
