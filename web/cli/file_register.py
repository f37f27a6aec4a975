"""`tsunagu file-register ...`: the municipality's personal-information file register (個人情報ファイル簿)."""
from __future__ import annotations

import json

import click

from tsunagu.engine.admin.municipalities import find_municipality, list_municipalities
from tsunagu.engine.records import file_register
from tsunagu.processes.registry import startable_versions

from .base import command_session, main, operator

# Optional: an installation of one municipality needs no code.
municipality_option = click.option("--municipality", "code", default=None, metavar="CODE",
                                   help="the municipality's 6-digit code (needed when there are several)")

BASES = {"consent": "本人同意", "council": "協議会（法第16条）", "life_protection": "生命・身体の保護",
         "statute": "法令の規定", "internal": "内部利用（個人情報保護法第69条第2項第2号）",
         "public_body": "他の行政機関等への提供（同項第3号）"}
RECORD_TYPES = {"case_file": "ケース記録・様式", "consents": "同意台帳", "assessments": "アセスメント",
                "council_papers": "協議会資料・議事録", "disclosure_log": "提供記録", "audit_log": "監査ログ"}
COUNTED_FROM = {"closure": "終結から", "creation": "作成から"}


def as_json(register: file_register.FileRegister) -> dict:
    """The register as plain JSON: no person is named in it."""
    entry = register.entry
    return {
        "municipality": {"code": register.municipality_code, "name": register.municipality_name},
        "public_body": register.public_body,
        "entry": {"file_name": entry.file_name, "purpose": entry.purpose, "sources": entry.sources,
                  "department": entry.department, "notes": entry.notes, "saved": entry.saved,
                  "updated_at": entry.updated_at.isoformat() if entry.updated_at else None},
        "scope": register.scope, "persons": register.persons,
        "forms": [{"process": f.process, "form": f.form, "tasks": list(f.tasks),
                   "items": [{"title": i.title, "special_care": i.special_care, "categories": list(i.categories)}
                             for i in f.items]} for f in register.forms],
        "items": [i.title for i in register.items],
        "includes_special_care": register.includes_special_care,
        "special_care": [{"title": i.title, "categories": list(i.categories)} for i in register.special_care],
        "recipients": [{"name": r.name or None, "kind": r.kind, "basis": r.basis, "count": r.count}
                       for r in register.recipients],
        "member_bodies": list(register.member_bodies), "councils": list(register.councils),
        "retention": [{"record_type": p.record_type.value, "years": p.years, "counted_from": p.counted_from.value,
                       "rule": p.rule, "default": p.default} for p in register.retention],
    }


def as_text(register: file_register.FileRegister) -> str:
    """The register as the statutory entries, one per paragraph, in Japanese."""
    entry = register.entry
    lines = [f"個人情報ファイル簿（{register.municipality_name}・{register.municipality_code}）"]
    if not entry.saved:
        lines.append("※ 既定の記載のままです。公表前に確認し、tsunagu file-register set で保存してください。")
    lines += [f"個人情報ファイルの名称: {entry.file_name}", f"行政機関等の名称: {register.public_body}",
              f"事務をつかさどる組織の名称: {entry.department}", f"利用目的: {entry.purpose}", "記録項目:"]
    for form in register.forms:
        items = "、".join(i.title + ("※" if i.special_care else "") for i in form.items)
        lines.append(f"  {form.form}（{'、'.join(form.tasks)}）: {items}")
    lines.append(f"記録範囲: {register.scope}（記録されている本人の数: {register.persons}人）")
    lines.append(f"記録情報の収集方法: {entry.sources}")
    special = "、".join(i.title + (f"（{'、'.join(i.categories)}）" if i.categories else "") for i in register.special_care)
    lines.append("要配慮個人情報: " + (f"含む（{special}）" if register.includes_special_care else "含まない"))
    lines.append("記録情報の経常的提供先:")
    if register.councils or register.member_bodies:
        lines.append("  協議会の構成機関等: " + "、".join(register.councils + register.member_bodies))
    for r in register.recipients:
        name = "その他の提供先（個別に記録）" if r.kind == "other" else (r.name or "協議会")
        lines.append(f"  {name} · {BASES.get(r.basis, r.basis)} · {r.count}件")
    lines += [f"開示請求等を受理する組織: {entry.department}", "訂正又は利用停止に関する他の法令による特別の手続等: なし",
              "個人情報ファイルの種別: 電算処理ファイル（法第60条第2項第1号）", "保存期間:"]
    for p in register.retention:
        rule = f"（{p.rule}）" if p.rule else ""
        lines.append(f"  {RECORD_TYPES.get(p.record_type.value, p.record_type.value)}: "
                     f"{COUNTED_FROM.get(p.counted_from.value, '')}{p.years}年{rule}{'（既定）' if p.default else ''}")
    lines.append(f"備考: {entry.notes or '—'}")
    return "\n".join(lines)


def _town(session, code: str | None):
    if code is not None:
        return find_municipality(session, code)
    towns = list_municipalities(session)
    if len(towns) != 1:
        raise click.ClickException("自治体が複数（または未登録）です: --municipality CODE で指定してください")
    return towns[0]


@main.group("file-register")
def file_register_group() -> None:
    """The personal-information file register (個人情報ファイル簿, privacy law Art. 75)."""


@file_register_group.command("show")
@municipality_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def register_show(code: str | None, fmt: str) -> None:
    """Print the register, generated from the forms in use, the disclosure log and the retention policies."""
    with command_session() as (session, _clock):
        town = _town(session, code)
        register = file_register.register_of(session, None, town.id, startable_versions(session, town.id))
        if fmt == "json":
            click.echo(json.dumps(as_json(register), ensure_ascii=False, indent=2))
        else:
            click.echo(as_text(register))


@file_register_group.command("set")
@municipality_option
@click.option("--file-name", required=True, help="the file's name (個人情報ファイルの名称)")
@click.option("--purpose", required=True, help="the purpose of use (利用目的)")
@click.option("--sources", required=True, help="how records are collected (記録情報の収集方法)")
@click.option("--department", required=True, help="the office that keeps the file and receives requests")
@click.option("--notes", default=None, help="anything else to publish (備考)")
def register_set(code: str | None, file_name: str, purpose: str, sources: str, department: str, notes: str | None) -> None:
    """Save the municipality's own wording of the register (all at once; audited)."""
    with command_session() as (session, clock):
        town = _town(session, code)
        file_register.save_entry(session, clock, None, town.id, file_name=file_name, purpose=purpose, sources=sources,
                                 department=department, notes=notes, operator=operator())
        click.echo(f"{town.name}の個人情報ファイル簿を保存しました。")
