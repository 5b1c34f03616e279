"""The roles people have in fraudloop, as Django groups with the permissions they grant."""

# Reviewers read the admin's tables (view permissions) and act on them through the review
# actions; nobody edits or deletes history there.
REVIEWER_ADMIN_VIEWS = [
    "view_transaction",
    "view_label",
    "view_pseudolabel",
    "view_review",
    "view_reviewitem",
    "view_modelversion",
    "view_queueentry",
]

ROLES: dict[str, list[str]] = {
    "annotator": ["annotate"],
    # A reviewer can do what an annotator can, and review.
    "reviewer": ["annotate", "review", *REVIEWER_ADMIN_VIEWS],
    # A system account (an authorisation or alerting flow's token) that sends transactions as
    # they arrive, and sees nothing else.
    "ingest": ["ingest"],
}


def role_group(name: str, *, group_model=None, permission_model=None):
    """The role's group with exactly its permissions, created when missing."""
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    group, _ = group_model.objects.get_or_create(name=name)
    group.permissions.add(
        *permission_model.objects.filter(
            content_type__app_label="labeler", codename__in=ROLES[name]
        )
    )
    return group


def roles_install(apps) -> None:
    """From a data migration: the permissions of every model known so far, then the groups."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name in ROLES:
        role_group(name, group_model=group_model, permission_model=permission_model)
