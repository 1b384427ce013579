import pytest
from django.test import override_settings
pytestmark = pytest.mark.django_db

def show(r):
    print(r.status_code, r.headers.get("Content-Type"), r.content[:600])

def test_probe(anon, customer_api, staff_api, superuser_api, customer):
    anon.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    show(anon.get("/api/v1/users/me/"))
    anon.credentials()
    show(anon.get("/api/v1/users/me/"))
    show(anon.post("/api/v1/auth/register/", data="not json", content_type="text/plain"))
    show(anon.post("/api/v1/auth/register/", data="{bad", content_type="application/json"))
    show(anon.post("/api/v1/auth/register/", data="[1,2]", content_type="application/json"))
    show(anon.post("/api/v1/auth/register/", data="null", content_type="application/json"))
    show(anon.get("/api/v1/auth/register/"))
    show(anon.get("/api/v1/nothing/"))
    show(anon.get("/api/v1/users/me"))
    show(anon.post("/api/v1/users/me", {}))
    show(staff_api.get("/api/v1/users/?page_size=abc"))
    show(staff_api.get("/api/v1/users/?page=99"))
    show(staff_api.get("/api/v1/users/abc/"))
    show(staff_api.post("/api/v1/users/", {}))
    show(customer_api.put("/api/v1/users/me/", {}))
    show(anon.post("/api/v1/auth/register/", {"email": "a@b.com", "username": "u", "password": "password"}))
    show(anon.post("/api/v1/auth/token/", {"email": "a@b.com", "password": "x", "extra": 1}))
    show(anon.post("/api/v1/auth/token/refresh/", {"refresh": "x"}))
    show(customer_api.post("/api/v1/auth/logout/", {"refresh": "x"}))
    show(customer_api.patch("/api/v1/users/me/", {"username": "x"*200}))
    show(anon.post("/api/v1/auth/register/", {"email": "a@b.com", "username": "u", "password": "password", "lines": {"a": 1}}))
