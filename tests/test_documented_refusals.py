"""Every refusal docs/errors.md lists has a test (issue 34).

docs/errors.md is read bullet by bullet; ``COVERED`` maps each bullet (by its opening words) to the
phrases of its refusals and the tests that fail when one is gone. A bullet added to the page without
an entry here, a phrase no longer in its bullet, or a test that no longer exists fails
``test_every_documented_refusal_has_a_test``.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# opening words of the bullet -> [(phrase in the bullet, ["file::test", ...]), ...]
COVERED = {
    "An output that already exists is replaced only with": [
        ("replaced only with `--overwrite`", ["test_output_policy.py::test_an_existing_file_is_replaced_only_with_overwrite",
                                             "test_output_policy_commands.py::test_refuses_to_replace_a_users_file"]),
        ("lists it as written by the same kind of command", ["test_output_policy.py::test_a_rerun_replaces_only_the_files_it_made"]),
        ("`--resume` and `--eval-only` refuse a folder that holds anything else",
         ["test_resume_safety.py::test_resume_refuses_a_folder_that_is_not_a_training_run",
          "test_resume_safety.py::test_eval_only_refuses_a_folder_of_user_files"]),
        ("carries that marker", ["test_edge_paths.py::test_a_damaged_marker_makes_the_folder_someone_elses",
                                 "test_output_policy.py::test_a_folder_holding_someone_elses_files_is_refused"]),
    ],
    "An output is written to a temporary beside it": [
        ("renameat2(RENAME_NOREPLACE)", ["test_output_policy.py::test_the_no_replace_check_holds_at_the_rename",
                                         "test_output_policy.py::test_rename_no_replace_without_renameat2"]),
        ("Devices, pipes and `/dev/stdout` are written to directly",
         ["test_output_policy.py::test_devices_and_pipes_are_written_through_never_replaced",
          "test_output_policy.py::test_dev_stdout_is_written_through_to_a_pipe",
          "test_edge_paths.py::test_a_regular_file_is_never_written_through"]),
    ],
    "Two commands writing the same output at once": [
        ("the second is refused at start", ["test_output_policy.py::test_two_writers_of_one_output_are_refused",
                                            "test_mutant_survivors.py::test_a_second_command_cannot_claim_a_file_or_folder_another_one_holds"]),
    ],
    "Impossible output names": [
        ("too long, a symlink loop, under a file, no permission",
         ["test_output_policy.py::test_impossible_names_are_one_line_errors_naming_the_flag",
          "test_bad_input_tools.py::test_an_output_under_a_regular_file_is_a_one_line_error"]),
        ("one of the inputs or inside an input folder", ["test_bad_input_tools.py::test_an_output_on_or_inside_an_input_is_refused",
                                                         "test_mutant_survivors.py::test_an_output_inside_an_input_folder_is_refused"]),
    ],
    "Temporaries get the normal file mode": [
        ("normal file mode", ["test_bad_input_tools.py::test_outputs_have_the_normal_file_mode"]),
        ("removed by the next write", ["test_bad_input_tools.py::test_temporaries_of_a_killed_write_are_cleaned_by_the_next_write"]),
    ],
    "**Ctrl-C**: the step under way finishes": [
        ("exit code 130", ["test_bad_input_training.py::test_ctrl_c_in_run_py_is_one_line_saying_how_to_resume",
                           "test_exit_statuses.py::test_ctrl_c_is_130"]),
        ("A second Ctrl-C stops at once", ["test_bad_input_training.py::test_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint"]),
        ("the weights of an uninterrupted run", ["test_bad_input_training.py::test_ctrl_c_checkpoints_the_step_the_weights_hold"]),
    ],
    "**kill -9, a crash, a power cut**": [
        ("A damaged checkpoint is named and kept", ["test_resume_safety.py::test_resume_falls_back_to_the_newest_checkpoint_that_restores"]),
        ("`checkpoints/checkpoint` is lost", ["test_resume_safety.py::test_a_missing_checkpoint_state_file_loses_nothing"]),
        ("leftovers of a killed checkpoint write", ["test_resume_safety.py::test_a_killed_checkpoint_write_is_cleaned_at_the_next_start"]),
        ("A full disk stops training", ["test_resume_safety.py::test_a_full_disk_is_one_line_saying_how_much_space_a_checkpoint_needs"]),
        ("covers the whole epoch", ["test_resume_safety.py::test_the_interrupted_epochs_history_row_covers_the_whole_epoch"]),
        ("the configuration is checked first", ["test_resume_safety.py::test_resume_checks_the_configuration_even_without_a_checkpoint"]),
    ],
    "**One run per directory**": [
        ("a second run into it is refused", ["test_bad_input_training.py::test_a_run_directory_in_use_is_refused"]),
        ("a killed run never blocks the next one", ["test_bad_input_training.py::test_the_lock_of_a_killed_run_does_not_block"]),
    ],
    "**Checked before any work**": [
        ("numeric flags", ["test_bad_input_training.py::test_bad_flags_are_one_line_errors_and_leave_nothing"]),
        ("`--devices` must exist", ["test_bad_input_training.py::test_devices_that_do_not_exist_are_refused"]),
        ("`--init-from` must load", ["test_bad_input_training.py::test_bad_starting_weights_are_one_line_errors_and_write_no_config"]),
        ("every `--subset` list must parse", ["test_bad_input_training.py::test_bad_subset_lists_are_refused_before_training"]),
        ("`--output` must not be a file", ["test_bad_input_training.py::test_odd_output_paths_are_one_line_errors"]),
    ],
    "**Images**: the training images are decoded once": [
        ("a corrupt file is named", ["test_bad_input_training.py::test_a_corrupt_training_image_is_named_before_training_and_leaves_no_cache",
                                     "test_bad_input_training.py::test_decode_check_fills_the_cache_once_and_names_the_file"]),
        ("byte-order mark", ["test_bad_input_training.py::test_label_files_with_a_byte_order_mark_are_read"]),
    ],
    "**NaN loss**": [
        ("training stops with an error", ["test_bad_input_training.py::test_nan_loss_stops_training_before_the_nan_step_is_checkpointed",
                                          "test_bad_input_training.py::test_run_py_reports_a_diverged_run_as_an_error_not_a_result"]),
    ],
    "**`--eval-only` into a training run's directory**": [
        ("is refused", ["test_bad_input_training.py::test_eval_only_refuses_a_training_run_directory",
                        "test_resume_safety.py::test_eval_only_refuses_a_folder_of_user_files"]),
    ],
    "Pixels given directly": [
        ("finite RGB values in [0, 255]", ["test_output_policy.py::test_pixels_outside_0_255_are_an_error",
                                           "test_bad_input_tools.py::test_nan_pixels_are_an_error_not_an_answer"]),
    ],
    "Folder scans find": [
        ("the one list", ["test_bad_input_files.py::test_every_scan_uses_the_one_suffix_list",
                          "test_bad_input_files.py::test_gif_files_are_found_by_every_scan"]),
        ("A subfolder that cannot be read is reported", ["test_bad_input_files.py::test_an_unreadable_subfolder_is_reported"]),
        ("not UTF-8", ["test_bad_input_files.py::test_align_folder_reports_unreadable_folders_and_keeps_non_utf8_names"]),
    ],
    "Model files that are missing": [
        ("not a zip, truncated or damaged", ["test_bad_input_tools.py::test_a_truncated_or_corrupted_model_is_named_as_such"]),
        ("16-bit and other PNG modes", ["test_bad_input_tools.py::test_every_pillow_mode_decodes_as_tensorflow_does",
                                        "test_bad_input_tools.py::test_align_faces_finds_the_face_in_a_16bit_photo"]),
        ("capped at 1,600 px", ["test_bad_input_tools.py::test_mtcnn_looks_at_a_downscaled_copy_and_warps_the_full_image",
                                "test_geometry_properties.py::test_boxes_and_landmarks_come_back_in_the_full_non_square_photo"]),
    ],
    "A truncated video": [
        ("reported in the summary", ["test_realtime.py::test_truncated_video_is_reported",
                                     "test_realtime.py::test_predict_reports_a_truncated_video_and_exits_1"]),
    ],
    "A photo with no face gives no expression": [
        ('"note": "no face"', ["test_predict.py::test_one_face_and_no_face_as_json_lines_with_annotations"]),
        ("`[]` in Python", ["test_api.py::test_a_photo_without_a_face_gives_an_empty_list"]),
    ],
    "`export savedmodel` checks `--version`": [
        ("parses an existing `models.config`", ["test_bad_input_tools.py::test_export_refuses_a_bad_version_or_config_before_writing_anything"]),
    ],
    "Label files:": [
        ("RAF-DB 1..7", ["test_reader_refusals.py::test_rafdb_refuses_a_bad_line_naming_file_and_line"]),
        ("AffectNet 0..10", ["test_reader_refusals.py::test_affectnet_refuses_a_bad_row_naming_file_and_line"]),
        ("a face box with no area", ["test_reader_refusals.py::test_affectnet_refuses_a_bad_row_naming_file_and_line"]),
        ("FERPlus", ["test_reader_refusals.py::test_ferplus_refuses_a_bad_row_naming_file_and_line"]),
        ("a label file with no rows", ["test_reader_refusals.py::test_rafdb_refuses_an_empty_or_missing_label_file",
                                       "test_reader_refusals.py::test_affectnet_refuses_a_file_without_rows"]),
    ],
}


def documented_bullets():
    """The bullets of docs/errors.md, each as one line of text."""
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    return [" ".join(block[2:].split()) for block in re.split(r"\n(?=- |## |\n)", text) if block.startswith("- ")]


def test_every_documented_refusal_has_a_test():
    bullets = documented_bullets()
    assert len(bullets) >= 18, bullets  # the parser still finds the page's bullets
    unmapped = [b[:80] for b in bullets if not any(b.startswith(key) for key in COVERED)]
    assert not unmapped, f"docs/errors.md bullets with no test in COVERED: {unmapped}"
    stale = [key for key in COVERED if not any(b.startswith(key) for b in bullets)]
    assert not stale, f"COVERED names bullets no longer in docs/errors.md: {stale}"
    for key, refusals in COVERED.items():
        bullet = next(b for b in bullets if b.startswith(key))
        assert refusals, key
        for phrase, tests in refusals:
            assert phrase in bullet, f"{phrase!r} is no longer in the bullet {key!r}"
            assert tests, phrase
            for test in tests:
                file, name = test.split("::")
                source = (ROOT / "tests" / file).read_text(encoding="utf-8")
                assert re.search(rf"^def {re.escape(name)}\(", source, re.MULTILINE), f"{test} (for {phrase!r}) is gone"
