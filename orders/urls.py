from django.urls import path
from rest_framework.routers import SimpleRouter

from orders import views

router = SimpleRouter()
router.register("orders", views.OrderViewSet, basename="order")
router.register("coupons", views.CouponViewSet, basename="coupon")

urlpatterns = [
    path("reports/top-customers/", views.TopCustomersView.as_view(), name="report-top-customers"),
    *router.urls,
]
