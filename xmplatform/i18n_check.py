"""Fail when a message of the code is missing, untranslated or fuzzy in the catalogues.

`make lint` runs it as `python -m xmplatform.i18n_check`. makemessages writes the catalogues
beside the sources it reads, so it runs on a copy of both in a temporary folder and the
project's locale/ is never touched. Needs GNU gettext.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from contextlib import chdir
from pathlib import Path

import django
import polib

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("tr",)
SOURCE_ONLY = ("en",)  # the source language: its msgstr stay empty
# The folders `make messages` leaves out, and the files makemessages reads (django domain).
IGNORED = (".venv", "bench", "tests")
SOURCE_SUFFIXES = frozenset({".py", ".html", ".txt"})
FIX = (
    "Run `make messages`, translate these entries in locale/tr/LC_MESSAGES/django.po "
    "(and delete their `#, fuzzy` flags and `#|` lines), then run `make messages` again to "
    "compile them."
)

Key = tuple[str | None, str]


def _catalogue(root: Path, language: str) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


def _copy_sources(dest: Path, skip: Iterable[Path]) -> None:
    skipped = {p.resolve() for p in skip}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        here = Path(dirpath)
        dirnames[:] = [
            d
            for d in dirnames
            if not d.startswith(".")
            and d != "__pycache__"
            and (here / d).resolve() not in skipped
            and not (here == ROOT and d in (*IGNORED, "locale"))
        ]
        for name in filenames:
            if Path(name).suffix in SOURCE_SUFFIXES:
                target = dest / here.relative_to(ROOT) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(here / name, target)
    shutil.copytree(ROOT / "locale", dest / "locale", ignore=shutil.ignore_patterns("*.mo"))


def _key(entry: polib.POEntry | polib.MOEntry) -> Key:
    return (entry.msgctxt, entry.msgid)


def _label(entry: polib.POEntry) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in entry.occurrences[:2])
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    return f"  {entry.msgid!r}{context}  [{where}]"


def _translations(entries: Iterable[polib.POEntry | polib.MOEntry]) -> dict[Key, object]:
    return {
        _key(e): (tuple(sorted(e.msgstr_plural.items())) if e.msgid_plural else e.msgstr)
        for e in entries
        if e.msgid and not e.obsolete and "fuzzy" not in e.flags
    }


def _problems(language: str, merged: polib.POFile, current: polib.POFile) -> list[str]:
    """What a fresh makemessages finds wrong with one catalogue, one line per message."""
    known = {_key(e) for e in current if not e.obsolete}
    live = [e for e in merged if not e.obsolete]
    missing = [e for e in live if _key(e) not in known]
    fuzzy = [e for e in live if _key(e) in known and "fuzzy" in e.flags]
    untranslated = [
        e for e in live if _key(e) in known and "fuzzy" not in e.flags and not e.translated()
    ]
    groups = [("not in the catalogue (new in the code)", missing), ("fuzzy", fuzzy)]
    if language in TRANSLATED:
        groups.append(("untranslated", untranslated))
    lines = []
    for what, entries in groups:
        if entries:
            lines.append(f"{language}: {len(entries)} {what}:")
            lines.extend(_label(e) for e in entries)
    mo_path = _catalogue(ROOT, language).with_suffix(".mo")
    compiled = _translations(polib.mofile(str(mo_path))) if mo_path.exists() else {}
    if _translations(current.translated_entries()) != compiled:
        lines.append(f"{language}: {mo_path.relative_to(ROOT)} is not compiled from its .po.")
    return lines


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.test.utils import override_settings

    missing_tools = [t for t in ("xgettext", "msgmerge", "msgfmt") if not shutil.which(t)]
    if missing_tools:
        print(
            f"i18n check: {', '.join(missing_tools)} not found; install GNU gettext "
            "(apt-get install gettext).",
            file=sys.stderr,
        )
        return 1
    languages = (*TRANSLATED, *SOURCE_ONLY)
    skip = [Path(p) for p in (settings.STATIC_ROOT, settings.MEDIA_ROOT) if p]
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="i18n-check-") as tmp:
        work = Path(tmp)
        _copy_sources(work, skip)
        with chdir(work), override_settings(LOCALE_PATHS=[str(work / "locale")]):
            call_command("makemessages", locale=list(languages), verbosity=0)
            try:
                # msgfmt --check-format: a msgstr keeps every placeholder of its msgid. Its
                # errors go to stderr; the "processing file" lines are dropped.
                call_command("compilemessages", locale=list(languages), stdout=io.StringIO())
            except CommandError:
                problems.append("msgfmt found the errors above in a catalogue.")
        problems += [
            line
            for language in languages
            for line in _problems(
                language,
                polib.pofile(str(_catalogue(work, language))),
                polib.pofile(str(_catalogue(ROOT, language))),
            )
        ]
    if problems:
        print("i18n check failed:", *problems, FIX, sep="\n", file=sys.stderr)
        return 1
    print(f"i18n check: every message of the code is translated ({', '.join(languages)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
