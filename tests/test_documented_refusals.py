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
        ("`--teacher-labels` must read and hold a row for every training face",
         ["test_distillation.py::test_training_refuses_teacher_labels_missing_a_face_and_leaves_nothing",
          "test_distillation.py::test_mixing_refuses_faces_without_a_teacher_row_duplicates_and_other_classes"]),
        ("refuses the file once it has changed",
         ["test_distillation.py::test_training_sees_the_mixed_targets_records_the_file_and_refuses_a_changed_one_on_resume"]),
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
    # issue 31: the output policy by construction, the checked reader, numbers, resume, client
    "A whole output that must appear complete or not at all": [
        ("a failed or killed run leaves the previous one as it was",
         ["test_data_loss_cases.py::test_make_sample_keeps_a_users_folder_and_a_good_sample_after_a_failure",
          "test_data_loss_cases.py::test_ship_replaces_the_pair_in_one_step_and_keeps_the_folders_other_files"]),
    ],
    "Nothing is written inside the installed package": [
        ("`ship --output` and `make-sample --out` are required and refused there",
         ["test_data_loss_cases.py::test_ship_needs_an_output_outside_the_package",
          "test_data_loss_cases.py::test_make_sample_needs_both_flags_and_never_writes_into_the_package"]),
        ("no command's input is deleted or replaced", ["test_data_loss_cases.py::test_make_sample_never_deletes_its_source"]),
    ],
    "A folder is not taken over because it holds a file with a name the command writes": [
        ("`ablation.json`", ["test_data_loss_cases.py::test_ablate_does_not_take_over_a_folder_holding_an_ablation_json"]),
        ("`summary.json`", ["test_data_loss_cases.py::test_analyze_does_not_take_over_a_folder_holding_a_summary"]),
        ("a `.tfrecord`", ["test_data_loss_cases.py::test_tfrecords_does_not_take_over_a_folder_of_someone_elses_shards"]),
        ("`NAME.dsan`", ["test_data_loss_cases.py::test_export_never_rewrites_a_users_server_config"]),
    ],
    "Run twice with the same `--output FILE`": [
        ("the line says to add `--overwrite`",
         ["test_data_loss_cases.py::test_predict_twice_into_one_csv_says_to_add_overwrite_and_overwrite_works"]),
    ],
    "**By construction**: every file a command writes or deletes goes through the policy": [
        ("`tests/test_write_primitives.py` walks the AST",
         ["test_write_primitives.py::test_every_write_of_dsan_tf_goes_through_the_output_policy",
          "test_write_primitives.py::test_a_command_changed_to_bypass_the_policy_fails_the_rule"]),
        ("every output flag of every registered command must have one",
         ["test_output_policy_commands.py::test_every_output_flag_of_every_registered_command_has_a_probe",
          "test_output_policy_commands.py::test_a_newly_registered_command_that_writes_needs_a_probe"]),
    ],
    "Every file a command wrote and reads again": [
        ("one line naming the file, what it is, and what is wrong",
         ["test_state_files.py::test_the_reader_names_the_file_what_it_is_and_what_is_wrong",
          "test_state_files.py::test_resume_names_a_damaged_config_json",
          "test_state_files.py::test_align_names_a_damaged_ledger",
          "test_state_files.py::test_tfrecords_names_a_damaged_plan",
          "test_distillation.py::test_the_reader_refuses_a_damaged_or_edited_file_naming_it"]),
        ("a new `json.load`/`pd.read_csv`/`np.load` outside the reader fails",
         ["test_state_files.py::test_state_files_are_read_only_through_the_checked_reader",
          "test_state_files.py::test_the_source_walk_finds_a_new_read"]),
    ],
    "Derived state is rebuilt rather than refused": [
        ("decoded again", ["test_state_files.py::test_a_damaged_image_cache_is_named_and_rebuilt"]),
        ("write that shard again", ["test_state_files.py::test_a_damaged_shard_record_rewrites_the_shard"]),
    ],
    "A folder holding a result of another configuration is said, not used": [
        ("naming the settings that differ",
         ["test_ablate.py::test_a_point_folder_holding_another_configurations_result_is_refused"]),
    ],
    "No NaN or infinite number leaves a command as an answer": [
        ("a model with NaN weights is an error naming the model",
         ["test_not_a_number.py::test_a_model_with_nan_weights_is_an_error_naming_it_not_neutral"]),
        ("`simulate-centres` refuse to print tables of NaN",
         ["test_not_a_number.py::test_simulate_centres_refuses_what_would_print_nan"]),
        ("refuse an accuracy outside [0, 1]", ["test_not_a_number.py::test_compare_refuses_a_metric_outside_zero_one"]),
        ("`FaceExpressionRecognizer(min_confidence=2)`",
         ["test_not_a_number.py::test_an_out_of_range_api_argument_is_named_not_an_empty_answer"]),
    ],
    "**Killed during validation**": [
        ("ends with the uninterrupted run's weights and history",
         ["test_resume_validation.py::test_a_kill_during_validation_after_the_epochs_last_checkpoint_resumes_exactly",
          "test_resume_validation.py::test_the_dsan_killed_during_validation_resumes_to_the_uninterrupted_weights"]),
    ],
    "`client --timeout` is a deadline for the whole request": [
        ("a server sending a byte a second is cut off",
         ["test_client_replies.py::test_a_server_sending_a_byte_at_a_time_meets_the_deadline"]),
        ("one line naming the server", ["test_client_replies.py::test_a_malformed_rest_reply_is_one_line_naming_the_server",
                                        "test_client_replies.py::test_malformed_grpc_replies_are_one_line_naming_the_server"]),
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
