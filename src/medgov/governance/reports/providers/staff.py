"""Medical staff section: the credentialing decisions that wait for the governing board (initial appointments,
reappointments and added privileges the medical executive committee has approved), and the board's decisions
recorded in the quarter.

Practitioners are named because the board decides on each of them by name; nothing about patients, peer review
or OPPE appears here.
"""

from __future__ import annotations

from typing import Any

from medgov.governance.reports.rules import Quarter
from medgov.governance.reports.sections import Section, section
from medgov.governance.staff.choices import RequestKind, RequestStatus, ReviewStep, StepOutcome
from medgov.governance.staff.models import PrivilegeRequest, PrivilegeReview


@section(
    "staff_credentialing",
    title="Credentialing decisions for the board",
    order=60,
    requires_app="medgov.governance.staff",
)
def credentialing(quarter: Quarter) -> Section:
    awaiting = (
        PrivilegeRequest.objects.filter(status=RequestStatus.MEC_APPROVED)
        .select_related("practitioner__department")
        .prefetch_related("items", "reviews")
        .order_by("kind", "practitioner__family_name", "practitioner__given_name", "id")
    )
    rows: list[dict[str, Any]] = []
    for request in awaiting:
        practitioner = request.practitioner
        mec = next(
            (review for review in request.reviews.all() if review.step == ReviewStep.MEDICAL_EXECUTIVE_COMMITTEE),
            None,
        )
        rows.append(
            {
                "practitioner": str(practitioner),
                "department": practitioner.department.name if practitioner.department else "",
                "kind": request.kind,
                "kind_text": request.get_kind_display(),
                "privileges": sorted(item.name for item in request.items.all()),
                "submitted_on": request.submitted_on.isoformat(),
                "mec_approved_on": mec.decided_on.isoformat() if mec else "",
            }
        )
    decided = PrivilegeReview.objects.filter(
        step=ReviewStep.BOARD, decided_on__gte=quarter.start, decided_on__lte=quarter.end
    ).select_related("request")
    tally = {(kind.value, outcome.value): 0 for kind in RequestKind for outcome in StepOutcome}
    for review in decided:
        tally[(review.request.kind, review.outcome)] += 1
    decisions = [
        {
            "kind": kind.label,
            "approved": tally[(kind.value, StepOutcome.APPROVE.value)],
            "denied": tally[(kind.value, StepOutcome.DENY.value)],
        }
        for kind in RequestKind
    ]
    return Section(
        "staff_credentialing",
        "Credentialing decisions for the board",
        {"awaiting": rows, "decided_in_quarter": decisions},
    )
