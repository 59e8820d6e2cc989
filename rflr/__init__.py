"""rflr: random-feature low-rank networks and the mirror symmetry they recover inside."""

__version__ = "0.1.0"
