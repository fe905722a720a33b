from django.urls import path

from medgov.interfaces.web import views_quality as views

app_name = "quality"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("measures/<slug:measure_id>/", views.measure_detail, name="measure"),
    path("measures/<slug:measure_id>/target/", views.set_target, name="set_target"),
    path("signals/", views.signals, name="signals"),
    path("signals/<int:signal_id>/", views.signal_detail, name="signal"),
    path("signals/<int:signal_id>/<slug:action>/", views.signal_transition, name="signal_transition"),
]
