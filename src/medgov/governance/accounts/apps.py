from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "medgov.governance.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from medgov.governance.accounts.roles import sync_role_groups_after_migrate

        # Roles are data derived from code: keep the groups in step after every migrate.
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="medgov-sync-roles")
