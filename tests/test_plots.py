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


# ---- round 4 blind mutants (issue 34)


def test_percent_scales_a_fraction_and_marks_a_missing_class():
    from dsan_tf.plots import percent

    assert percent(0.8402) == "84.02 %"  # 100 x 0.8402, two digits
    assert percent(0.5, digits=1, unit="%") == "50.0%"
    assert percent(1.0, digits=0) == "100 %"
    assert percent(None) == "—" and percent(float("nan")) == "—"
