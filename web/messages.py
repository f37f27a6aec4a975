"""Human wording, in the user's language, for the stable error codes the engine raises."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from tsunagu.engine.errors import FieldError, FormInvalid, TsunaguError


def role_name(code: str) -> str:
    """A role in the reader's language; any other name (a lane that is not a role) as written."""
    names = {"caseworker": _("Caseworker"), "supervisor": _("Supervisor"), "coordinator": _("Coordinator"),
             "council_member": _("Council member"), "partner": _("Partner body"), "designer": _("Process designer"),
             "admin": _("Administrator"), "referrer": _("Referrer")}
    return names.get(code, code)


def field_errors(invalid: FormInvalid) -> dict[str, list[str]]:
    """The sentences to show beside each field of a refused form, by the field's path."""
    errors: dict[str, list[str]] = {}
    for error in invalid.errors:
        errors.setdefault(error.field, []).append(field_message(error))
    return errors


def field_message(error: FieldError) -> str:
    """The sentence shown beside a form field for one validation failure."""
    p = error.params
    code = error.code
    if code == "required":
        return _("This field is required.")
    if code == "enum":
        return _("Choose one of the listed options.")
    if code == "type":
        wanted = p.get("type")
        if wanted == "integer":
            return _("Enter a whole number.")
        if wanted == "number":
            return _("Enter a number.")
        return _("This value has the wrong form.")
    if code == "minimum" and _is_date(p.get("limit")):
        return _("Enter a date on or after %(limit)s.", limit=p.get("limit"))
    if code == "maximum" and _is_date(p.get("limit")):
        return _("Enter a date on or before %(limit)s.", limit=p.get("limit"))
    if code == "minimum":
        return _("Enter %(limit)s or more.", limit=p.get("limit"))
    if code == "maximum":
        return _("Enter %(limit)s or less.", limit=p.get("limit"))
    if code == "minLength":
        return _("This field is required.") if p.get("limit") == 1 else _("Enter at least %(limit)s characters.", limit=p.get("limit"))
    if code == "maxLength" and p.get("limit") is None:
        return _("This text is too long.")
    if code == "maxLength":
        return _("Enter at most %(limit)s characters.", limit=p.get("limit"))
    if code == "format" and p.get("format") == "date":
        return _("Enter a date as YYYY-MM-DD.")
    if code == "already_tabled":
        return _("This case is already on the agenda of the meeting on that date.")
    if code == "consent_not_in_force":
        return _("No consent is in force for this case; choose the council's statutory basis.")
    if code == "totp_invalid":
        return _("The code is not valid. Enter the current 6-digit code.")
    if code == "uniqueItems":
        return _("Each option can be chosen only once.")
    if code == "person_has_open_case":
        return _("This person has a consultation that is still open: add to that case instead of opening another.")
    if code == "minutes_before_meeting":
        return _("The meeting is held on %(limit)s: its minutes can be recorded from that day.", limit=p.get("limit"))
    if code == "meeting_exists":
        return _("A meeting is already scheduled on %(limit)s: table the case for that meeting.", limit=p.get("limit"))
    if code == "before_meeting":
        return _("The meeting is held on %(limit)s: its decision can be recorded from that day.", limit=p.get("limit"))
    if code == "x_not_after":
        return _("Enter a date no later than today (%(limit)s).", limit=p.get("limit"))
    if code == "x_not_before":
        return _("Enter a date no earlier than today (%(limit)s).", limit=p.get("limit"))
    if code == "not_supervisor":
        return _("Only a staff member with the supervisor role can supervise a team.")
    if code == "not_caseworker":
        return _("Only a staff member with the caseworker role can be a team's caseworker.")
    if code == "retired":
        return _("This team is retired.")
    if code == "name_taken":
        return _("This name is already used in your municipality.")
    if code == "code_taken":
        return _("This code is already used in your catalogue.")
    if code == "pattern" and p.get("pattern"):
        return _("Use lower-case letters a-z, digits and underscores only (at most 64).")
    if code == "pattern":
        return _("This text contains characters that cannot be used, such as line breaks.")
    if code == "unknown_municipality":
        return _("No municipality with the code %(code)s is registered.", code=p.get("code"))
    if code == "maxItems":
        return _("Enter at most %(limit)s items.", limit=p.get("limit"))
    if code == "already_member":
        return _("This body is already a member of the council.")
    if code == "owner_retired":
        return _("The default owner body is retired. Choose an active owner body first.")
    sharing = sharing_message(code, p)
    if sharing is not None:
        return sharing
    staff = _staff_field_message(code, p)
    if staff is not None:
        return staff
    return _("This value is not accepted (%(code)s).", code=code)


SHARING_CODES = ("sharing_needs_consent_or_tabling", "consent_lacks_purpose", "body_not_attending", "consent_withdrawn",
                 "recipient_needs_consent_or_reason", "referral_needs_consent_or_statute", "life_protection_needs_reason",
                 "statute_not_named", "internal_needs_reason", "public_body_needs_reason", "sharing_basis_unknown")


def _purpose_label(purpose: str | None) -> str:
    labels = {"support_planning": _("support planning"), "information_sharing": _("sharing with named bodies"),
              "council": _("tabling at the council"), "statistics": _("statistics")}
    return labels.get(purpose or "", purpose or "")


def sharing_message(code: str, p: dict) -> str | None:
    """Why case data may not go to a body (engine/casefile/sharing.py), saying what is missing."""
    body = p.get("body") or _("this body")
    purpose = _purpose_label(p.get("purpose"))
    if code == "sharing_needs_consent_or_tabling":
        return _("%(body)s cannot receive this case's information: record a consent naming %(body)s for "
                 "%(purpose)s, or table the case at a council meeting %(body)s attends.", body=body, purpose=purpose)
    if code == "consent_lacks_purpose":
        return _("The consent in force does not cover %(purpose)s. Ask the person for a consent that lists it.",
                 purpose=purpose)
    if code == "body_not_attending":
        return _("%(body)s does not attend the council meeting this case is tabled at, and no consent names it "
                 "for %(purpose)s. Invite %(body)s to the meeting or ask the person for a consent naming it.",
                 body=body, purpose=purpose)
    if code == "consent_withdrawn":
        return _("The person withdrew the consent that named %(body)s. Its information can go on only if the "
                 "withdrawal follow-up continues the case under the council's secrecy (Act Art. 16) and %(body)s "
                 "attends the meeting.", body=body)
    if code == "recipient_needs_consent_or_reason":
        return _("%(body)s is not a member body, so neither a consent nor the council can cover it. Choose "
                 "protection of life or body and give the reason, or choose the member body the watcher belongs to.",
                 body=body)
    if code == "referral_needs_consent_or_statute":
        return _("No consent in force covers sharing with other bodies. Record the person's consent first, name "
                 "the statute that provides for the referral, or refer without sharing.")
    if code == "life_protection_needs_reason":
        return _("Give the reason why sharing is needed to protect the person's life or body.")
    if code == "statute_not_named":
        return _("Name the statute (and article) that provides for this sharing.")
    if code in ("internal_needs_reason", "public_body_needs_reason"):
        return _("Give the reason this use is needed for the work.")
    if code == "sharing_basis_unknown":
        return _("Choose one of the listed bases.")
    return None


def _staff_field_message(code: str, p: dict) -> str | None:
    """Staff accounts and passwords (engine/admin/staff.py, engine/access/users.py)."""
    if code == "username_invalid":
        return _("Use 3 to 80 letters, digits and . _ @ - (no spaces).")
    if code == "username_taken":
        return _("This user name is already in use. Choose another.")
    if code == "email_invalid":
        return _("Enter an e-mail address like name@example.jp.")
    if code == "organisation_unknown":
        return _("Choose one of your municipality's bodies or departments.")
    if code == "organisation_inactive":
        return _("This body or department has been retired; choose another.")
    if code == "password_too_short":
        return _("Use at least %(limit)s characters.", limit=p.get("limit"))
    if code == "password_is_username":
        return _("Your password must not be your user name.")
    if code == "password_unchanged":
        return _("Choose a password different from the current one.")
    if code == "password_wrong":
        return _("This is not your current password.")
    if code == "password_mismatch":
        return _("The two new passwords are not the same.")
    if code == "cannot_demote_self":
        return _("You cannot remove your own administrator role; ask another administrator.")
    if code == "last_admin":
        return _("This is the last active administrator of your municipality; give someone else the role first.")
    return _staff_list_message(code, p)


def _staff_list_message(code: str, p: dict) -> str | None:
    """A staff list (CSV) being imported (engine/admin/staff_import.py)."""
    if code == "duplicate_in_file":
        return _("The same user name appears earlier in the file (line %(line)s).", line=p.get("line"))
    if code == "unknown_column":
        return _("Unknown column. The columns are username, display_name, email, roles, organisation, team.")
    if code == "missing_column":
        return _("This column is missing from the first line.")
    if code == "duplicate_column":
        return _("This column appears twice in the first line.")
    if code == "too_many_fields":
        return _("This line has more values than the first line has columns.")
    if code == "too_many_rows":
        return _("The file has more rows than can be imported at once (%(limit)s).", limit=p.get("limit"))
    if code == "file_empty":
        return _("The file has no staff rows.")
    if code == "csv_invalid":
        return _("The file cannot be read as CSV.")
    if code == "encoding_not_utf8":
        return _("Save the file as UTF-8 (in Excel: \"CSV UTF-8 (Comma delimited)\") and upload it again.")
    if code == "file_too_large":
        return _("The file is too large.")
    return None


def error_message(error: TsunaguError) -> str:
    """The sentence shown on an error page or in a flash for a refused command."""
    code = error.code
    if code == "conflict":
        return _("Someone else changed this first. Reload the page and check before trying again.")
    if code == "forbidden":
        return _("You do not have permission for this.")
    if code == "not_found":
        return _("The requested item was not found.")
    if code == "invalid_state":
        return _("This cannot be done in the case's current state.")
    if code == "form_invalid":
        return _("The form has errors. Please check the highlighted fields.")
    if code == "message_not_expected":
        return _("This case is not accepting that action now.")
    if code == "in_use":
        return _("This is still in use, so it cannot be changed that way.")
    if code == "break_glass_read_only":
        return _("An emergency opening lets you read this case only. Ask the case staff to make changes.")
    if code == "cannot_demote_self":
        return _("You cannot do this to your own account. Ask another administrator.")
    if code == "last_admin":
        return _("This is the last active administrator of your municipality. Give someone else the role first.")
    if code == "draft_too_large":
        return _("Your input is too large to keep as a draft. Shorten it, or complete the form now.")
    if code == "unstorable_input":
        return _("The input contains a character that cannot be used (NUL). Remove it and try again.")
    if code in TOKEN_CODES:
        return _token_message(code)
    if code in SHARING_CODES and isinstance(error, FormInvalid) and error.errors:
        return field_message(error.errors[0])
    return _("The request could not be completed (%(code)s).", code=code)


def _is_date(limit) -> bool:
    """A limit like "2026-12-01": the field is a date, so say "on or after", not "or more"."""
    if not isinstance(limit, str):
        return False
    try:
        date.fromisoformat(limit)
    except ValueError:
        return False
    return True


# An API request whose token signs nobody in (engine/access/tokens.py): 401, each with its reason.
TOKEN_CODES = ("token_unknown", "token_revoked", "token_expired", "user_inactive", "token_roles_withdrawn")


def _token_message(code: str) -> str:
    return {"token_unknown": _("The API token is not valid."),
            "token_revoked": _("The API token was revoked. Ask an administrator for a new one."),
            "token_expired": _("The API token has expired. Ask an administrator for a new one."),
            "user_inactive": _("The API token's staff account is deactivated."),
            "token_roles_withdrawn": _("The API token's staff member no longer holds any of its roles.")}[code]


HTTP_STATUS = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid_state": 409, "form_invalid": 422,
               **{code: 401 for code in TOKEN_CODES}, "message_not_expected": 409, "in_use": 409,
               "cannot_demote_self": 409, "last_admin": 409, "break_glass_read_only": 403,
               "draft_too_large": 413, "unstorable_input": 422, **{code: 422 for code in SHARING_CODES}}
