"""Runs last (pytest orders files by name): after everything above, no Kore
worker of the shared stack may have died, from the seccomp sandbox or
otherwise. A violation in a task thread can kill a worker silently, so the
Kore output is the only witness."""


def test_no_worker_died_and_no_sandbox_violation(stack):
    assert stack.kore_problems() == []
    for i in range(stack.n_kore):
        out = stack.kore_output(i)
        assert "sandbox violation" not in out
        assert "seccomp violation" not in out
