// Kept apart from the commands so `heavy help` loads none of them.

export const PROFILES_HELP = `heavy profiles [list] [--root DIR] [--json]
    Print the Run and Debug profiles VS Code offers for the project, with the
    exact command each runs.
heavy profiles run PROFILE [--root DIR] [--yes] [-- EXTRA ARGS...]
    Run a profile (by id or name) in this terminal, without a debugger.`;

export const SERVE_HELP = `heavy serve [--root DIR] [--host H] [--port N] [-- EXTRA SERVER ARGS...]
    The Hot Reload Server: fresh code after every save, without re-importing your
    dependencies (a warm parent forks a new server process per version). A broken save
    keeps the previous version serving. Loopback and port 8000 unless told otherwise.`;

export const TEST_HELP = `heavy test [--root DIR] [PYTEST ARGS...]
    Run pytest through the warm daemon (started if needed). Everything after heavy's own
    options goes to pytest verbatim; the exit code is pytest's.
heavy watch [--root DIR] [PYTEST ARGS...]
    Re-run the tests affected by each saved change, with a one-line summary.`;

export const DAEMON_HELP = `heavy daemon start|stop|status|restart [--root DIR] [--json]
    The warm test daemon for a project (one per project root; start is idempotent).`;

export const DB_HELP = `heavy db pave [--root DIR] [--yes]
    Drop and recreate the dev database's tables (local databases only), then seed.
heavy db migrate [--root DIR] [--message M]
    Autogenerate an Alembic revision on a scratch database and round-trip it.
heavy db check [--root DIR]
    Exit 1 when the models and the migrations differ (for CI).`;

export const TIME_HELP = `heavy time track [--root DIR] [--user NAME]
    Track time from file changes in the foreground (the daemon does this when
    [tool.heavy.time] enabled = true).
heavy time status [--root DIR] [--user NAME] [--json]
heavy time cement [--root DIR] [--user NAME]
    Sign the finished blocks into .heavy/time/<user>.jsonl (commit it).
heavy time verify [--root DIR] [--json]
    Check every cemented log: signatures, chain, users, overlaps, times (for CI).
heavy time report [--root DIR] [--since DATE] [--json] [--html FILE]
    Totals per user, per day and per branch; --html writes the editor's report
    (chart included) as one self-contained HTML file.
heavy time pause|resume [--root DIR] [--user NAME]
heavy time import-ptyme FILE [--root DIR] [--user NAME]
    Convert a ptyme-track log into blocks marked imported.
heavy time witness [--port N] [--host H]
    A co-signing witness for time logs (loopback by default; port 7777).`;

export const RECORD_HELP = `heavy record [--root DIR] [--port N] [--out FILE] [--keep-secrets] [--host H]
    Start the app on a private port behind a recording proxy on --port (default
    [tool.heavy.serve] port or 8000, on 127.0.0.1). Ctrl+C writes a redacted HAR to
    .heavy/recordings/<date>-<branch>.har (or --out).
heavy replay FILE... [--root DIR] [--target URL] [--users N] [--ramp S] [--duration S]
             [--speed X] [--max-error-rate PCT] [--json] [--html FILE] [--export artillery --out DIR]
    Replay recordings (ours or a browser's HAR export) as a load test on Artillery;
    without --target the app is started on a free port and stopped afterwards.`;

export const REPLAY_HELP = `heavy replay FILE... [options]
    Replays recordings (ours or a browser's HAR export) as a load test on Artillery. Each
    recorded session is played in recorded order: its HTTP requests and WebSocket exchanges,
    with the recorded pauses divided by --speed.
  --users N          every recorded session is played by N virtual users (default 1: the
                     recording once, the same requests in the same order), each with its
                     own cookie jar; N x sessions virtual users in all
  --ramp S           the users arrive evenly over S seconds (default 0: at once)
  --duration S       each user plays its session again and again: a pass starts while less
                     than S seconds have passed since the user's first pass began, and the
                     pass under way when S runs out is played to its end (default 0: once)
  --speed X          pauses are the recorded ones divided by X (default 1)
  --target URL       load this server (default: start the app on a free port, stop it after)
  --max-error-rate P exit 1 when over P% of requests fail (transport errors, 5xx, a
                     401/403 where the recording got in), or of users stop early (default 1)
  --json             the summary as JSON on stdout
  --html FILE        a self-contained report with charts
  --export artillery --out DIR
                     write DIR/load.yml and DIR/heavy-replay.cjs (its processor) instead of
                     running: artillery run DIR/load.yml, or run-fargate, run-lambda, run-aci
  --root DIR         the project (default: found from the current folder)
    Redacted credentials are replayed from [tool.heavy.record.credentials] in pyproject.toml:
    headers.NAME and fields.NAME values, "\${ENV_VAR}" read from the environment when the
    load runs, and a login each user sends first. A placeholder with no value stops replay
    before any load, naming the key to set.`;

export const HELP = `heavy: the Heavy Dev command line

${PROFILES_HELP}

${SERVE_HELP}

${TEST_HELP}

${DAEMON_HELP}

${DB_HELP}

${TIME_HELP}

${RECORD_HELP}

heavy help | --help      this text
heavy --version          the version`;
