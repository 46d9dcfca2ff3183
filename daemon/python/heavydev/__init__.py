"""Heavy Dev's Python side: the warm test daemon (heavy_worker.py), heavy serve (heavy_serve.py) and the database helper (heavy_db.py).

- project: the project root and what counts as the project's own code;
- context: what warm imports read (environment, folder, argv) and a run's own context;
- warm: importing modules cleanly into a warm level, and the fork-and-reap server;
- pytest_run: one run in a fresh fork (or a cold process), reporting to the daemon;
- primes: runs prepared ahead of their request;
- levels: the warm levels (pytest, third-party, project) built per context;
- coverage_run: coverage measured inside a run;
- serve, serve_child, serve_watch, serve_env, serve_restart: heavy serve (hot reload);
- db: pave, migrate and check (heavy_db.py).
"""
