"""Presets of experiments/run.py. Every value can be overridden by a flag of the same name."""

# The paper's Sect. 4.2 settings (AffectNet differs in learning rate and oversampling).
PAPER = dict(
    image_size=224,
    batch_size=128,
    epochs=40,
    learning_rate=1e-3,
    schedule="exponential",
    decay_rate=0.6,
    warmup_epochs=0.0,
    weight_decay=1e-4,
    # None: what suits the centre update (dsan_tf.model.DEFAULT_CENTRE_SGD). The paper's 0.9/0.9
    # with "loss-gradient"; the weight-free "centre-loss" step diverges with it and uses 0.05/0.9.
    centre_learning_rate=None,
    centre_momentum=None,
    alpha=0.4,
    lambda1=0.01,
    lambda2=0.01,
    split_num=4,
    reduction=2,
    centre_update="centre-loss",
    centre_separation_weight=0.002,
    stop_attention_gradient=True,
    label_mode="majority",
    mixed_precision="float32",
    random_crop=True,
    horizontal_flip=True,
    rotation=0.0,
    random_erasing=0.0,
    oversample=False,
    class_weight="none",
    time_budget_minutes=None,
    ema_decay=0.0,  # no EMA of the weights (dsan_tf/ema.py)
    teacher_labels=None,  # no distillation (dsan_tf/distillation.py)
    teacher_weight=0.5,  # with --teacher-labels: the teacher's share of each target
)
PAPER_PER_DATASET = {
    "affectnet7": dict(learning_rate=1e-4, oversample=True),
    "affectnet8": dict(learning_rate=1e-4, oversample=True),
}

# A DSAN for a 2-core CPU and 60 minutes of wall time: FERPlus' own 48x48 faces upscaled to
# 64x64 (the last feature map is 2x2), FERPlus' probability (soft) labels, a cosine schedule
# with a short warm-up, rotation on top of the paper's crop and flip. The architecture is the
# paper's. 8 epochs: what 60 minutes buy at the ~63 images/s measured on an AVX2-only EPYC
# (float32 with oneDNN). Precision "auto": float32 there (bfloat16 is emulated, about 11x
# slower), mixed_bfloat16 on CPUs with native bfloat16 (AMX Xeons). Measured accuracy on the
# FERPlus validation split: docs/results.md, "Accuracy on FERPlus".
CPU = dict(
    PAPER,
    image_size=64,
    batch_size=64,
    epochs=8,
    learning_rate=1e-3,
    schedule="cosine",
    warmup_epochs=1.0,
    label_mode="probability",
    mixed_precision="auto",
    rotation=10.0,
    random_erasing=0.0,
    time_budget_minutes=58,
)

# The recipe of the shipped `ferplus` model (issue 25): the cpu preset at FERPlus' own 48x48
# (ResNet-18's last map is 2x2 at 48 and at 64 px; 48 px trains ~1.8x the images per second) for
# 30 epochs without a time budget: about 2 hours on a 2-core AVX2 EPYC in float32 (MODEL_CARD.md).
CPU_LONG = dict(
    CPU,
    image_size=48,
    epochs=30,
    time_budget_minutes=None,
)

# A smoke run on the embedded FERPlus sample: proves the pipeline end to end in minutes.
SMOKE = dict(
    PAPER,
    image_size=48,
    batch_size=32,
    epochs=2,
    schedule="constant",
    mixed_precision="float32",
)

PRESETS = {"paper": PAPER, "cpu": CPU, "cpu-long": CPU_LONG, "smoke": SMOKE}


def resolve(preset, dataset):
    """The preset's settings for ``dataset``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    settings = dict(PRESETS[preset])
    if preset == "paper":
        settings.update(PAPER_PER_DATASET.get(dataset, {}))
    return settings
