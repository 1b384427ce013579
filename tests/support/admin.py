"""Helpers for tests that drive the Django admin's forms."""

from typing import Any


def change_form_data(response: Any, *, inline_parent: str) -> dict[str, Any]:
    """What the browser would post back from a change page, unchanged; each
    inline row names its parent by ``inline_parent`` (the inline model's
    foreign key to the page's object, e.g. "product")."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for i, f in enumerate(formset.forms):
            data[f"{formset.prefix}-{i}-id"] = f.instance.pk
            data[f"{formset.prefix}-{i}-{inline_parent}"] = getattr(f.instance, f"{inline_parent}_id")
    return data
