#!/usr/bin/env python
"""Train, evaluate and export a tagger: `python train.py --help`."""

from tagger.cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())
