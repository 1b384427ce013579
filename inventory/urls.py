from rest_framework.routers import SimpleRouter

from inventory import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
urlpatterns = router.urls
