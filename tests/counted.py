"""The end of a counted suite run against a stack (tests/postman and
tests/browser run_with_stack.py): one place that reads the runner's own
`N passed, N failed` line and adds what the runner cannot see.

finish(stack, out, rc, problems, who, unit) prints the runner's output
without its last counts line, then the reasons it adds failures for: no
counts at all, a non-zero status with no failed UNIT, each Kore problem
(a worker that died, a sandbox kill, a sanitizer report; one failure for
all of them), and where the run directory was kept. It returns (passed,
failed); the caller prints the final line once its own work is done.
"""

import re
import sys

COUNTS_RE = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def finish(stack, out, rc, problems, who, unit):
    counts = COUNTS_RE.findall(out)
    # The runner's own last line goes last, after what is added here.
    lines = out.rstrip("\n").split("\n")
    if counts and lines and COUNTS_RE.fullmatch(lines[-1]):
        lines.pop()
    sys.stdout.write("\n".join(lines) + "\n")

    passed, failed = (int(counts[-1][0]), int(counts[-1][1])) if counts else (0, 1)
    if not counts:
        print("run_with_stack: %s printed no counts (status %d)" % (who, rc))
    elif rc != 0 and failed == 0:
        print("run_with_stack: %s failed (status %d) with no failed %s"
              % (who, rc, unit))
        failed = 1
    for i, line in problems:
        print("run_with_stack: Kore %d: %s" % (i + 1, line))
    if problems:
        failed += 1
    if stack.keep_run_dir:
        print("run_with_stack: run directory kept: %s" % stack.run_dir)
    return passed, failed
