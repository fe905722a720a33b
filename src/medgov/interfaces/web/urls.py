from django.contrib.auth import views as auth_views
from django.urls import path

from medgov.governance.accounts.forms import ThrottledAuthenticationForm
from medgov.interfaces.web import views, views_notices

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html",
            authentication_form=ThrottledAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit_trail, name="audit_trail"),
    path("audit/export.csv", views.audit_trail_csv, name="audit_trail_csv"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/roles/", views.user_roles, name="user_roles"),
    path("notices/", views_notices.notices, name="notices"),
    path("notices/read/", views_notices.mark_notices_read, name="mark_notices_read"),
]
