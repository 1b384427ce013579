from rest_framework.routers import SimpleRouter

from notifications import views

router = SimpleRouter()
# deliveries first: "webhooks/deliveries/…" must not be read as an endpoint's id.
router.register("webhooks/deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")
urlpatterns = router.urls
