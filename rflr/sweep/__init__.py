"""Many runs: grid specs, presets, executors, the sweep runner, studies and their summaries.

    grid       a grid spec's points and folder names (pure)
    presets    named sets of jobs for `train.py --preset NAME`
    executors  where a sweep's tasks run (in process, Ray)
    runner     a sweep: tasks, one progress bar, summary.csv and sweep.json
    study      several sweeps (parts) summarized into one summary.csv
    summary    summary.csv: its schema and rows, reading it back, statistics, poster claims
    stats      grouped statistics of sweeps and studies, the poster's claim rows (pandas only)
    verdicts   the verdict rules fixed before the data: supports, not observed, cannot decide
    referee    issue 20's claim rows by those rules, and the whole claims table

Imports: rflr.core, rflr.measure, rflr.files, rflr.train. The explorer may import only the
pure modules here (grid, summary, stats, verdicts, referee), never the runner, study or executors.
"""
