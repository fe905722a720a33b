"""Which permissions each role holds.

Each domain app declares its permissions on its models (``Meta.permissions``); this table grants them to
roles. Permissions of apps that are not installed are skipped, so the table can name them ahead of time.
Read-only roles (board member, auditor) hold only ``view_*``-style permissions: no write endpoint accepts them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from medgov.governance.accounts.choices import Role

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.CMO: (
        "core.view_audit_trail",
        "quality.view_quality",
        "quality.manage_targets",
        "quality.view_phi",
        "quality.manage_signals",
        "reports.view_board_report",
        "reports.generate_board_report",
        "safety.report_event",
        "safety.view_safety_dashboard",
        "safety.triage_event",
        "safety.manage_rca",
        "staff.view_staff",
        "staff.manage_staff",
        "staff.decide_privileges",
        "staff.view_peer_review",
        "emergency.manage_activation",
    ),
    Role.QUALITY_SAFETY: (
        "quality.view_quality",
        "quality.manage_targets",
        "quality.view_phi",
        "quality.manage_signals",
        "reports.view_board_report",
        "reports.generate_board_report",
        "safety.report_event",
        "safety.view_safety_dashboard",
        "safety.triage_event",
        "safety.manage_rca",
        "safety.view_reporter_identity",
        "safety.remove_event",
    ),
    Role.MEDICAL_STAFF_OFFICE: (
        "quality.view_quality",
        "safety.report_event",
        "staff.view_staff",
        "staff.manage_staff",
        "emergency.manage_activation",
    ),
    Role.DEPARTMENT_CHIEF: (
        "quality.view_quality",
        "quality.view_phi",
        "safety.report_event",
        "staff.view_staff",
        "staff.recommend_privileges",
        "staff.decide_oppe",
    ),
    Role.CLINICIAN: ("safety.report_event",),
    Role.BOARD_MEMBER: ("reports.view_board_report", "quality.view_quality"),
    Role.AUDITOR: ("core.view_audit_trail",),
    Role.ADMINISTRATOR: ("accounts.manage_users", "core.view_audit_trail"),
}


def sync_role_groups() -> None:
    """Create one group per role and give it exactly the permissions in :data:`ROLE_PERMISSIONS`."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = []
        for name in names:
            app_label, codename = name.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


def sync_role_groups_after_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate fires once per app; permissions of apps after "accounts" exist only once theirs has run,
    # so sync after the last installed app.
    from django.apps import apps

    last_app = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender is last_app or getattr(sender, "label", None) == last_app.label:
        sync_role_groups()
