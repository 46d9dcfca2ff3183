"""The Python side of Heavy Dev's warm test daemon (started by the Test Daemon profile).

The warm daemon itself (warm imports, a fork per run, streamed results) is not part of
this version yet. Until it is, this script says so plainly instead of pretending.
"""

import sys

MESSAGE = (
    "heavy: the warm test daemon is not available in this version of Heavy Dev yet.\n"
    "heavy: run your tests with: {python} -m pytest  (breakpoints work with a 'heavy' launch\n"
    "heavy: configuration: \"module\": \"pytest\")\n"
)

if __name__ == "__main__":
    sys.stderr.write(MESSAGE.format(python=sys.executable))
    sys.exit(3)
