"""{% audit_quality version %}: a version's audit estimate, or what it still needs."""

from django import template

from labeler.quality_view import quality_view

register = template.Library()


@register.inclusion_tag("labeler/partials/audit_quality.html")
def audit_quality(version):
    return {"quality": quality_view(version), "version": version}


@register.simple_tag
def audit_quality_short(version) -> str:
    view = quality_view(version)
    return view.short if view else "\N{EN DASH}"
