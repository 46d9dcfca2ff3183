"""The Python side of Heavy Dev's warm test daemon (started by heavy_worker.py).

- project: the project root and what counts as the project's own code;
- context: what warm imports read (environment, folder, argv) and a run's own context;
- warm: importing modules cleanly into a warm level, and the fork-and-reap server;
- pytest_run: one run in a fresh fork (or a cold process), reporting to the daemon;
- primes: runs prepared ahead of their request;
- levels: the warm levels (pytest, third-party, project) built per context.
"""
