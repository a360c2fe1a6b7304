"""The Dataset page's upload in a real browser (@browser): a training file plus an official test file, then
the same file name again — the taken name is refused with nothing replaced, and "Save as a new version" keeps
version 1. Run: python -m pytest -m browser tests/test_browser_upload.py -q."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.envtools import restored_env
from tests.test_user_files import topic_frame

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_utils as bu  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not bu.chromium_available(), reason="needs /usr/bin/chromium (Debian chromium) + playwright"),
    pytest.mark.browser,
]


def test_upload_with_a_test_file_and_the_collision_refusal(tmp_path):
    lab = tmp_path / "lab"
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    topic_frame(240, 0).to_csv(first / "train.csv", index=False)
    topic_frame(45, 1).to_csv(first / "test.csv", index=False)
    topic_frame(150, 9).to_csv(second / "train.csv", index=False)
    shots = Path(os.environ.get("TEXTLAB_SCREENSHOTS") or tmp_path / "screenshots")
    with restored_env(bu.lab_env(lab)):
        os.environ.update(bu.lab_env(lab))
        from core import data

        data.save_upload(data.resolve_dataset(str(first / "train.csv")), "seed")  # quick statistics tab
        with bu.run_app(bu.lab_env(lab)) as app, bu.browser() as page:
            page.goto(f"{app.url}/dataset?dataset=upload:seed")
            bu.wait_idle(page)
            page.get_by_role("tab", name="Upload your own file").click()
            drop = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
            drop.first.set_input_files(str(first / "train.csv"))
            page.get_by_text("240 rows × 3 columns").first.wait_for()
            bu.wait_idle(page)
            drop.nth(1).set_input_files(str(first / "test.csv"))
            page.get_by_text("Test file: 45 rows × 3 columns").first.wait_for()
            bu.wait_idle(page)
            slider = page.locator('[data-testid="stSlider"]').filter(has_text="Test share").get_by_role("slider")
            assert slider.is_disabled()  # the test file is the test split: no share to pick
            name = page.locator('[data-testid="stTextInput"]').filter(has_text="Dataset name").locator("input")
            assert name.input_value() == "train"
            page.get_by_role("button", name="Save dataset").click()
            page.get_by_text("Saved upload:train").first.wait_for()
            bu.wait_idle(page)
            bu.assert_no_exception(page, "Dataset upload with a test file")
            assert "45 test rows" in bu.main_text(page) and "test split: test file" in bu.main_text(page)
            page.get_by_role("tab", name="Statistics").click()
            assert "upload:train" in bu.selected(page, "Dataset")  # the Statistics tab follows the save
            page.get_by_role("tab", name="Upload your own file").click()
            fingerprint = data.load_dataset("upload:train").fingerprint()

            drop.first.set_input_files(str(second / "train.csv"))  # another train.csv
            page.get_by_text("150 rows × 3 columns").first.wait_for()
            bu.wait_idle(page)
            assert name.input_value() == "train-2"  # a free default, never the saved name
            name.fill("train")
            page.get_by_role("button", name="Save dataset").click()
            page.get_by_text("already exists").first.wait_for()
            bu.wait_idle(page)
            bu.screenshot(page, shots, "dataset-name-taken")
            assert data.upload_versions("train") == [1]
            assert data.load_dataset("upload:train").fingerprint() == fingerprint
            page.get_by_text("Save as a new version if the name is taken").click()
            page.get_by_role("button", name="Save dataset").click()
            page.get_by_text("(version 2)").first.wait_for()
            bu.wait_idle(page)
            bu.assert_no_exception(page, "Dataset upload as a new version")
            assert data.upload_versions("train") == [1, 2]
            assert data.load_dataset("upload:train@v1").fingerprint() == fingerprint
