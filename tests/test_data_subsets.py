"""RAN occlusion/pose lists: their formats, and matching to a test table by stem."""

import pandas as pd
import pytest

from dsan_tf.data import DataError, load_subset_list, match_subset

OCCLUSION = "1_fer0034656.png 8 0\n2_fer0033359.png 8 2\n\n10_fer0099999.png 3 1\n"
POSE = "0/fer0032226.jpg\n1/fer0032227.jpg\n4/fer0032228.jpg\n"


def test_parse_both_formats(tmp_path):
    (tmp_path / "occ.txt").write_text(OCCLUSION)
    (tmp_path / "pose.txt").write_text(POSE)
    assert load_subset_list(tmp_path / "occ.txt") == ["fer0034656.png", "fer0033359.png",
                                                      "fer0099999.png"]
    assert load_subset_list(tmp_path / "pose.txt") == ["fer0032226.jpg", "fer0032227.jpg",
                                                       "fer0032228.jpg"]


def test_match_by_stem_and_count_unmatched(tmp_path):
    table = pd.DataFrame({"name": ["fer0032226.png", "fer0032227.png", "fer0034656.png",
                                   "fer0000001.png"]})
    (tmp_path / "pose.txt").write_text(POSE)
    mask, unmatched = match_subset(table, load_subset_list(tmp_path / "pose.txt"))
    assert mask.tolist() == [True, True, False, False] and unmatched == 1
    (tmp_path / "occ.txt").write_text(OCCLUSION)
    mask, unmatched = match_subset(table, load_subset_list(tmp_path / "occ.txt"))
    assert mask.tolist() == [False, False, True, False] and unmatched == 2


@pytest.mark.parametrize("text, line", [("0/fer1.jpg\nfer2.jpg\n", 2),
                                        ("1_fer0034656.png 8\n", 1),
                                        ("0/readme\n", 1)])
def test_malformed_list_names_the_line(tmp_path, text, line):
    (tmp_path / "list.txt").write_text(text)
    with pytest.raises(DataError, match=f"list.txt line {line}: expected"):
        load_subset_list(tmp_path / "list.txt")


def test_missing_or_empty_list(tmp_path):
    with pytest.raises(DataError, match="subset list not found"):
        load_subset_list(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="subset list is empty"):
        load_subset_list(tmp_path / "empty.txt")
