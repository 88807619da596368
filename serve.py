#!/usr/bin/env python
"""Tag text files or answer HTTP requests with an exported model: `python serve.py --help`."""

from tagger.cli import serve_main

if __name__ == "__main__":
    raise SystemExit(serve_main())
