"""Many runs: grid specs, presets, executors, the sweep runner, studies and their summaries.

    grid       a grid spec's points and folder names (pure)
    presets    named sets of jobs for `train.py --preset NAME`
    executors  where a sweep's tasks run (in process, Ray)
    runner     a sweep: tasks, one progress bar, summary.csv and sweep.json
    study      several sweeps (parts) summarized into one summary.csv
    summary    summary.csv: its schema and rows, reading it back, statistics, poster claims
    stats      grouped statistics of sweeps and studies, the claims table (pandas only)

Imports: rflr.core, rflr.measure, rflr.files, rflr.train. The explorer may import only the
pure modules here (grid, summary, stats), never the runner, study or executors.
"""
