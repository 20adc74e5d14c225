"""Scripted experiments, each module a command: ``python -m experiments.<name> --help``."""
