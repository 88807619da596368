"""`python -m tagger SUBCOMMAND ...`"""

import sys

from tagger.cli import entry

if __name__ == "__main__":
    raise SystemExit(entry(sys.argv[1:]))
