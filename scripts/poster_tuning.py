"""The exploratory runs behind the poster preset's hyperparameters (REPRODUCTION.md quotes
them; scripts/make_reproduction.py reads TUNING)."""

# How the poster preset's hyperparameters were found: exploratory runs on this machine with
# 8-100 seeds (command flags of train.py; all on the default target cos x + 0.5 cos 2x +
# 0.25 cos 3x, 256 training points, batch size one, depth 4, width 128, step decay x0.1 at
# 50% and 75% of the steps). Result: RF-LR/dense test MSE and headline defect, min / median.
TUNING = [
    ("rflr r=2, lr 0.03, 20k steps, 8 seeds", "MSE 4.6e-5 / 2.8e-4; defect 6.6e-4 / 6.7e-3"),
    ("rflr r=2, lr 0.03, 100k steps, 8 seeds", "MSE 1.1e-5 / 6.0e-5; defect 6.5e-4 / 6.0e-3"),
    ("same, cosine schedule", "MSE 1.2e-5 / 6.4e-5; defect 6.6e-4 / 6.1e-3"),
    ("rflr r=2, depth 5, lr 0.03, 100k", "MSE 1.4e-5 / 3.0e-5; defect 7.3e-4 / 7.6e-2"),
    ("rflr r=2, lr 0.1, 100k", "MSE 9.7e-6 / 3.1e-5; defect 6.0e-4 / 1.3e-1"),
    ("rflr r=2, lr 0.03, online samples, 100k", "MSE 5.4e-6 / 1.1e-5; defect 2.2e-4 / 2.2e-2"),
    ("rflr r=2, lr 0.1, 100k, seeds 8-15", "MSE 9.9e-6 / 1.3e-5; defect 7.2e-5 / 4.4e-3"),
    ("rflr r=1, lr 0.03, 100k", "MSE 1.4e-5 / 2.8e-5; defect 1.2e-5 / 6.2e-5"),
    ("rflr r=1, lr 0.1, 100k, 8 seeds", "MSE 6.1e-6 / 2.0e-5; defect 6.1e-6 / 3.0e-5"),
    ("rflr r=1, lr 0.1, 100k, 32 seeds", "9/32 diverged in the first 1.6k steps"),
    ("rflr r=1, lr 0.2, 100k", "7/8 diverged"),
    ("rflr r=1, lr 0.1, online, 100k", "1/8 diverged, 1 stuck odd; defect median 1.0e-5"),
    ("rflr r=1, lr 0.05, 100k, 32 seeds", "MSE 1.0e-5 / 1.3e-4; defect 3.0e-6 / 5.0e-5"),
    ("rflr r=1, lr 0.05, 200k, 16 seeds", "MSE 6.2e-6 / 2.4e-5; defect 5.2e-6 / 1.6e-5"),
    ("rflr r=1, lr 0.05, cosine, 100k, 16 seeds", "MSE 1.1e-5 / 4.5e-5; defect 8.5e-6 / 2.6e-5"),
    (
        "rflr r=1, lr 0.07, 100k, 16 seeds",
        "MSE 6.2e-6 / 2.5e-5; defect 4.1e-6 / 2.7e-5; 0 diverged",
    ),
    (
        "rflr r=1, lr 0.07, 100k, 100 seeds",
        "MSE 4.2e-6 / 4.5e-5; defect 3.6e-6 / 1.9e-5; 1 diverged",
    ),
    ("dense width 64, lr 0.03, 100k", "MSE 2.8e-5 / 4.7e-5; defect 0.51 / 0.58"),
    ("dense width 64, lr 0.1, 100k", "MSE 1.9e-5 / 3.4e-5; defect 0.50 / 0.60"),
    ("dense width 128, lr 0.07, 100k, 20 seeds", "MSE 7.4e-6 / 1.1e-5; defect 0.54 / 0.62"),
]
