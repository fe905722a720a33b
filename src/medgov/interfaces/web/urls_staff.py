from django.urls import path

from medgov.interfaces.web import views_staff as views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("practitioners/<int:practitioner_id>/", views.practitioner, name="practitioner"),
    path("practitioners/<int:practitioner_id>/credentials/", views.add_credential, name="add_credential"),
    path("import/", views.import_nppes, name="import_nppes"),
    path("expirables/", views.expirables, name="expirables"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:request_id>/", views.privilege_request, name="request"),
    path("oppe/", views.oppe_list, name="oppe"),
    path("oppe/due/", views.oppe_due, name="oppe_due"),
    path("oppe/<int:profile_id>/", views.oppe_profile, name="oppe_profile"),
    path("peer-review/", views.peer_review_list, name="peer_review"),
    path("peer-review/<int:case_id>/", views.peer_review_case, name="peer_review_case"),
]
