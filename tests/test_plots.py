"""dsan_tf.plots: the training-curve figure reads Keras' CSVLogger file as a run leaves it."""

from PIL import Image

from dsan_tf.plots import plot_training_curves, read_history

# Epoch 1 interrupted at step 17 and resumed (two rows); no validation split (empty val_ columns).
HISTORY = """epoch,accuracy,gfe_accuracy,loss,val_accuracy,val_loss
0,0.40,0.39,2.0,NA,NA
1,0.50,0.48,1.6,NA,NA
1,0.55,0.54,1.5,NA,NA
"""


def test_resumed_epoch_keeps_its_finishing_row_and_empty_columns_go(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    log = read_history(path)
    assert list(log["epoch"]) == [0, 1]
    assert list(log["accuracy"]) == [0.40, 0.55]
    assert list(log.columns) == ["epoch", "accuracy", "gfe_accuracy", "loss"]


def test_training_curves_png_is_written(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    plot_training_curves(path, tmp_path / "curves.png")
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG" and image.width > 500
