"""Class names of each dataset, in the fixed order its labels use.

The model stores the names it was trained with, so later stages can refuse a dataset
whose classes differ. Never reorder these tuples: label indices depend on them.
"""

# FERPlus vote columns, in label.csv / fer2013new.csv order (8 emotions, unknown, NF).
FERPLUS_VOTE_COLUMNS = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
    "contempt", "unknown", "NF",
)
FERPLUS_CLASSES = FERPLUS_VOTE_COLUMNS[:8]

# RAF-DB basic: label k in list_patition_label.txt is RAFDB_CLASSES[k - 1].
RAFDB_CLASSES = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")

# AffectNet expression codes 0..7; codes 8 (none), 9 (uncertain), 10 (non-face) are dropped.
AFFECTNET8_CLASSES = (
    "neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",
)
AFFECTNET7_CLASSES = AFFECTNET8_CLASSES[:7]
