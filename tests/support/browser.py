"""What every browser test shares: the two devices and two languages pages are checked in, the
folder screenshots go to (SCREENSHOT_DIR, else a temporary one) and a page opener.

The fixtures are made available to every test by tests/conftest.py."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DEVICES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
LOCALES = {"tr": "tr-TR", "en": "en-GB"}
# Every page is looked at in each language on each device: one test sets its data up once and
# visits the page in these four views.
VIEWS = [(lang, device) for lang in LOCALES for device in DEVICES]


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots are saved: SCREENSHOT_DIR to look at them, else a temporary folder."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return tmp_path_factory.mktemp("shots")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[[str, str], Any]]:
    """open_page(lang, device): a fresh browser page asking for `lang` at the device's size."""
    contexts = []

    def open_(lang: str, device: str) -> Any:
        context = chromium.new_context(locale=LOCALES[lang], **DEVICES[device])
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()
