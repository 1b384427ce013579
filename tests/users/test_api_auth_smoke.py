import pytest

pytestmark = pytest.mark.django_db


def test_register_then_sign_in_then_read_me(anon):
    r = anon.post(
        "/api/v1/auth/register/", {"email": "Ann@Example.com", "username": "ann", "password": "s3cret-Passw0rd!"}
    )
    assert r.status_code == 201, r.content
    assert r.json()["email"] == "ann@example.com"
    assert "password" not in r.content.decode()
    r = anon.post("/api/v1/auth/token/", {"email": "ANN@example.com", "password": "s3cret-Passw0rd!"})
    assert r.status_code == 200, r.content
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {r.json()['access']}")
    assert anon.get("/api/v1/users/me/").json()["username"] == "ann"


def test_product_flow(staff_api, anon):
    r = staff_api.post("/api/v1/products/", {"sku": "A-1", "name": "A", "price": "1.50", "stock": 3})
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    r = staff_api.post(f"/api/v1/products/{pid}/stock-adjustments/", {"delta": -5, "reason": "x"})
    assert r.status_code == 409, r.content
    print(r.json())
    r = anon.get("/api/v1/products/?ordering=price")
    assert r.status_code == 200 and r.json()["count"] == 1
    r = anon.get("/api/v1/products/?ordering=bogus")
    print(r.json())
    assert r.status_code == 400
    r = anon.get("/api/v1/nothing/")
    print(r.content)
    assert r.status_code == 404
