"""Emergency activations for an emergency operations centre's systems: list, open and close."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from medgov.governance.emergency import selectors, services

router = Router(tags=["emergency"])


class ActivationIn(Schema):
    title: str


class ActivationOut(Schema):
    id: int
    title: str
    activated_at: dt.datetime
    closed_at: dt.datetime | None


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except PermissionDenied:
        raise HttpError(403, "You do not have permission to do this.") from None
    except ValidationError as error:
        raise HttpError(422, "; ".join(error.messages)) from None


@router.get("/activations", response=list[ActivationOut])
def list_activations(request: HttpRequest) -> list[Any]:
    return list(_call(selectors.activations_visible_to, request.user))


@router.post("/activations", response={201: ActivationOut})
def open_activation(request: HttpRequest, payload: ActivationIn) -> Status[Any]:
    return Status(201, _call(services.do_open_activation, title=payload.title, actor=request.user))


@router.post("/activations/{id}/close", response=ActivationOut)
def close_activation(request: HttpRequest, id: int) -> Any:
    activation = selectors.access_activation_by_id(request.user, id)
    return _call(services.do_close_activation, activation, actor=request.user)
