"""Training many seeds of one config at once, and writing their checkpoints.

    trainer   a Job (config x seed block) trained and written, resumable
    stack     S networks stacked along a seed axis: the batched forward and backward
    steps     where the updates run: the plain loop on CPU, CUDA graphs on a GPU
    identity  a run's identity is its config: refusing to mix two runs in one folder
    memory    what a seed block holds in memory: sample pieces, block sizes, refusals

Imports: rflr.core, rflr.measure, rflr.files.
"""
