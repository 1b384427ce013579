"""config.serializers.InputSerializer: each serializer has fields of its own,
bound to it, however they were copied from the declared ones."""

from orders.domain.placement import MAX_QUANTITY
from orders.serializers import OrderCreateInputSerializer


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
