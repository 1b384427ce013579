"""config.api.serializers.InputSerializer: each serializer has fields of its own,
bound to it, however they were copied from the declared ones."""

from rest_framework import serializers

from config.api.serializers import InputSerializer
from orders.domain.placement import MAX_QUANTITY
from orders.serializers import OrderCreateInputSerializer
from users.models import User


def test_each_input_serializer_has_its_own_fields_bound_to_it_at_every_depth():
    first = OrderCreateInputSerializer(data={}, context={"request": "first"})
    second = OrderCreateInputSerializer(data={}, context={"request": "second"})

    assert first.fields["coupon"] is not second.fields["coupon"]
    assert first.fields["coupon"].parent is first and second.fields["coupon"].parent is second
    quantity = first.fields["lines"].child.fields["quantity"]
    assert quantity is not second.fields["lines"].child.fields["quantity"]
    assert quantity.root is first and quantity.context == {"request": "first"}
    assert quantity.field_name == "quantity" and quantity.max_value == MAX_QUANTITY
    # The declared fields, which every serializer copies, stay unbound.
    assert OrderCreateInputSerializer._declared_fields["coupon"].parent is None


def test_one_serializer_errors_do_not_reach_the_next():
    bad = OrderCreateInputSerializer(data={"lines": [{"product_id": 0, "quantity": 1}], "coupon": "no way"})
    good = OrderCreateInputSerializer(data={"lines": [{"product_id": 1, "quantity": 2}], "coupon": "SAVE10"})

    assert not bad.is_valid()
    assert set(bad.errors) == {"lines", "coupon"}
    assert good.is_valid(), good.errors
    assert good.validated_data == {"lines": [{"product_id": 1, "quantity": 2}], "coupon": "SAVE10"}


class _Holding(InputSerializer):
    users = serializers.PrimaryKeyRelatedField(many=True, queryset=User.objects.all())
    tags = serializers.ListField(child=serializers.CharField())
    meta = serializers.JSONField(default={})
    note = serializers.CharField()


def test_a_field_that_holds_a_field_or_a_mutable_default_is_a_serializer_own():
    first, second = _Holding(data={}, context={"request": "first"}), _Holding(data={})

    users = first.fields["users"].child_relation
    assert users is not second.fields["users"].child_relation
    assert users.root is first and users.context == {"request": "first"}
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.root is first
    assert first.fields["meta"].default is not second.fields["meta"].default
    assert first.fields["note"] is not second.fields["note"] and first.fields["note"].parent is first
