"""The command lines: `train.py`, `rflr`, `python -m rflr.analyze`.

    train      train.py: one run, a grid sweep or a preset
    flags      train.py's parser and the jobs a command line means
    grid_jobs  every point of a --grid or --sweep-spec as a job
    commands   the `rflr` command (train, analyze, hub, app)
    analyze    print the measurements of checkpoint files

Imports: anything below it (never the explorer, which `rflr app` starts as a process).
"""
