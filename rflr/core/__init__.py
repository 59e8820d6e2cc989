"""The model and what it is trained on: configs, model kinds, forward passes, targets, seeds.

    config    the config dataclasses (model, target, training) and every input cap
    kinds     the model kinds: one entry each (config, label, layer names)
    model     parameters and the forward pass, with every partial function by name
    targets   f* and the symmetric evaluation grid
    seeds     per-seed random streams (init, data, sample order)

Imports: the standard library, numpy and torch only; nothing else of rflr.
"""
