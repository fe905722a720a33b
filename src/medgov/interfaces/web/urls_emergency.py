from django.urls import path

from medgov.interfaces.web import views_emergency as views

app_name = "emergency"

urlpatterns = [
    path("", views.home, name="home"),
    path("activations/<int:activation_id>/close/", views.close, name="close"),
]
