#!/usr/bin/env python
"""Tag text files or answer HTTP requests with an exported model: `python serve.py --help`."""

from tagger.cli import exit_now, serve_main

if __name__ == "__main__":
    exit_now(serve_main())
