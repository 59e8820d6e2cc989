"""Measurements (SPEC section 4): pure functions of a model's weights and partial functions.

    metrics          D, parity, activity: the symmetry defect of one channel or layer
    channels         per-channel tables, mirror-paired atoms, equivariance, oscillations
    weight_symmetry  mirror pairing of every layer's units, beside random init
    rescaling        the balanced network: one copy per ReLU rescaling orbit
    evaluate         a model on the symmetric grid -> the checkpoint's metrics record
    record           that record (Metrics, LayerMetrics): typed, written to and read from headers
    plateaus         plateaus and sharp drops of a loss history
    basin            basin width: loss profiles and the top Hessian eigenvalue
    bootstrap        seeded bootstrap intervals, Spearman's rho

Imports: rflr.core only.
"""
