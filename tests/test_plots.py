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


# ---- round 6 blind mutants (issue 34)


def test_the_right_panel_of_the_confusion_matrix_divides_each_row_by_its_true_count(tmp_path, monkeypatch):
    """r6-plots-confusion-column-normalised: the "row-normalised" panel is the recall view: row i (true
    class i) divided by its own total. [[3, 1], [2, 6]] -> rows of 4 and 8: [[0.75, 0.25], [0.25, 0.75]]
    (by columns it would be [[0.6, 1/7], [0.4, 6/7]])."""
    import numpy as np

    import dsan_tf.plots as plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    plots.plot_confusion_matrix([[3, 1], [2, 6]], ["a", "b"], tmp_path / "cm.png")
    panels = {ax.get_title(): ax for ax in figures[0].axes if ax.images}  # the colour bars have no title
    counts_ax = panels["Confusion matrix (counts)"]
    normalised_ax = panels["Confusion matrix (row-normalised)"]
    np.testing.assert_array_equal(counts_ax.images[0].get_array(), [[3, 1], [2, 6]])
    np.testing.assert_allclose(normalised_ax.images[0].get_array(), [[0.75, 0.25], [0.25, 0.75]])
    assert [t.get_text() for t in normalised_ax.texts] == ["0.75", "0.25", "0.25", "0.75"]
    plots.plt.close(figures[0])


def test_a_column_empty_in_some_epochs_only_is_kept(tmp_path):
    """r6-plots-history-drops-partly-empty-columns: only columns empty in every row go; a validation column
    with one empty cell (an epoch that logged no validation) keeps its other values."""
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,val_accuracy,val_loss\n0,0.40,NA,NA\n1,0.50,0.45,NA\n2,0.60,0.52,NA\n")
    log = read_history(path)
    assert list(log.columns) == ["epoch", "accuracy", "val_accuracy"]
    assert log["val_accuracy"].isna().tolist() == [True, False, False]
    assert list(log["val_accuracy"])[1:] == [0.45, 0.52]
