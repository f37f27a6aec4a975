"""`tsunagu process diff KEY FROM TO`: what changed between two versions of a process, listed as the page
/designer/processes/<key>/diff lists it (elements, decision tables, forms, other files), in Japanese."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
from babel.support import Translations

from tsunagu import web
from tsunagu.engine.errors import FormInvalid
from tsunagu.processes.changes import AttributeChange
from tsunagu.processes.comparison import Comparison, compare_versions
from tsunagu.processes.version_diff import ElementChange

from ..process_diff import attribute_label, attribute_value, selector_label, status_label
from .base import command_session, operator
from .designer import process
from .processes import _municipality

SELECTORS = "template:N（全国標準テンプレートの第N版）、municipal:N（自治体の第N版）、draft（下書き）"


def _translator() -> Any:
    """The page's wording in Japanese, read from the compiled catalogue (the command has no request)."""
    catalogue = Translations.load(str(web.TRANSLATIONS), ["ja"])

    def gettext(message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return gettext


@process.command("diff")
@click.argument("key")
@click.argument("old", metavar="FROM")
@click.argument("new", metavar="TO")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality whose versions and draft to compare (without it: template versions only)")
def diff(key: str, old: str, new: str, code: str | None) -> None:
    """List what changed in process KEY from version FROM to version TO (template:N, municipal:N or draft)."""
    with command_session() as (session, clock):
        town = _municipality(session, code)
        try:
            comparison = compare_versions(session, clock, None, town.id if town else None, key, old, new,
                                          via="cli", operator=operator())
        except FormInvalid as invalid:
            wrong = ", ".join(f"{e.field}: {e.code}" for e in invalid.errors)
            needs_town = any(e.code == "municipality_required" for e in invalid.errors)
            raise click.ClickException(f"{wrong}（" + ("municipal:N と draft には --municipality が必要です"
                                       if needs_town else f"版は {SELECTORS} で指定します") + "）") from None
        for line in diff_lines(comparison, _translator()):
            click.echo(line)


def diff_lines(comparison: Comparison, gettext: Any) -> Iterator[str]:
    """The comparison as indented lines: a heading per group, a line per change, one per attribute."""
    diff = comparison.diff
    yield f"{selector_label(comparison.old.selector, gettext)} → {selector_label(comparison.new.selector, gettext)}"
    if diff.empty:
        yield gettext("No differences: the two versions run the same process.")
    for heading, rows in ((gettext("Tasks, events and gateways"), diff.elements),
                          (gettext("Sequence flows"), diff.flows)):
        if rows:
            yield f"■ {heading}"
            for element in rows:
                yield from _element(element, gettext)
    if diff.decisions:
        yield f"■ {gettext('Decision tables')}"
    for decision in diff.decisions:
        yield (f"  {status_label(decision.status, gettext)}  {decision.name or decision.id}"
               f" ({decision.id}, {decision.file})")
        yield from _changes(decision.changes, gettext, "      ")
        for rule in decision.rules:
            yield f"      {status_label(rule.status, gettext)}  {gettext('Rule %(n)s', n=rule.number)} ({rule.id})"
            yield from _changes(rule.changes, gettext, "          ")
    if diff.forms:
        yield f"■ {gettext('Forms')}"
    for form in diff.forms:
        yield f"  {status_label(form.status, gettext)}  {form.title or form.file} ({form.file})"
        yield from _changes(form.changes, gettext, "      ", form=True)
        for field in form.fields:
            yield f"      {status_label(field.status, gettext)}  {field.title or field.path} ({field.path})"
            yield from _changes(field.changes, gettext, "          ", form=True)
    if diff.files:
        yield f"■ {gettext('Other files')}"
    for file in diff.files:
        yield f"  {status_label(file.status, gettext)}  {file.name}"
    if diff.layout_changed:
        yield gettext("The diagram's layout changed too (shapes were moved); that does not change how the process "
                      "runs.")


def _element(element: ElementChange, gettext: Any) -> Iterator[str]:
    yield f"  {status_label(element.status, gettext)}  {element.name or '—'} ({element.id}, {element.kind})"
    if element.status.value == "changed":
        yield from _changes(element.changes, gettext, "      ")


def _changes(changes: tuple[AttributeChange, ...], gettext: Any, indent: str, form: bool = False) -> Iterator[str]:
    for change in changes:
        label = attribute_label(change, form, gettext)
        if change.attribute == "other":
            yield f"{indent}{label}: {gettext('Changed (see the file)')}"
            continue
        old, new = (attribute_value(change, v, gettext, role=str) for v in (change.old, change.new))
        shown = f"{old} → {new}" if change.old is not None and change.new is not None else (
            new if change.new is not None else f"{old} → —")
        yield f"{indent}{label}: " + shown.replace("\n", f"\n{indent}  ")
