"""What the tests and the benchmarks both drive the real servers with.

``services``: databases, unique names, admin statements, the process environment of
a ``Settings``, an ``insights consume`` child process, counts of applied records,
waiting. ``factories``: contract-valid events and plausible streams of them.
``reference``: the reference dashboard's semantics as independent SQL, the oracle of
the equality tests and the baseline the read benchmark times.

Development tooling: ``tests/`` and ``bench/`` import it; it imports neither, and
nothing shipped imports it (import-linter contracts in ``pyproject.toml``). It is
not part of the wheel.
"""
