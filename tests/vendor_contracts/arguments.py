"""Argument sets for the vendor contract check, beyond each simulator's `contract_examples()`: every optional
field, every documented vendor_field and vendor_filter, valid against the simulators' seed data.

Per vendor: tool operation -> argument sets (without `vendor`; the driver adds it where the tool takes it).
`INTAKE` stands for the id of an intake the run created. `reassign_task` sets are update_task calls.
"""

from __future__ import annotations

from typing import Any

from ..support import FULL_TASK, JANE

#: replaced by the id of an intake created earlier in the run
INTAKE = "<intake id>"

PRIYA = "V0ZVc2VyHzU1MDg3OTc0MDE4MDg4OTY"
MARCUS = "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"
ANA = "V0ZVc2VyHzU3MjI2NDY2Mzc0NDUxMjA"
DOCUMENT = {"resource": "124efa2a142f472ba1ceab34ed18915f", "segment": "465ttdh2a142y75ehsft5ab34edf5675"}

Sets = dict[str, list[dict[str, Any]]]

LIGHTFIELD: Sets = {
    "find_people": [{"query": "dana@northwind.example"}],
    "find_records": [
        {"kind": "account"},
        {"kind": "opportunity", "query": "Acme", "limit": 1},
        {"kind": "opportunity", "query": "Globex"},
        {"kind": "relationship", "query": "champ"},
    ],
    "create_task": [
        {
            "title": "Plan the Globex kickoff",
            "description": "Agenda, owners and dates.",
            "due": "2031-06-01T09:30:00+02:00",
            "status": "in_progress",
            "assignees": ["mem_priya02"],
            "vendor_fields": {
                "$account": "acc_globex02",
                "$opportunity": "opp_acme_renewal",
                "$createdBy": "mem_dana003",
                "champion": "con_wile001",
            },
        }
    ],
    "list_tasks": [
        {},
        {
            "status": "todo",
            "assignee": "mem_sam0001",
            "due_after": "2030-01-01",
            "due_before": "2032-12-31",
            "text": "renewal",
            "vendor_filters": {"$task-account[contains]": "acc_acme001", "status": "active"},
            "limit": 5,
        },
        {"vendor_filters": {"status": "trashed"}, "limit": 1},
    ],
    "update_task": [
        {
            "title": "Plan the Globex kickoff (moved)",
            "description": "New agenda.",
            "due": "2031-07-01",
            "status": "done",
            "assignees": ["mem_dana003"],
            "vendor_fields": {"$account": "acc_acme001", "$opportunity": "opp_acme_renewal", "champion": "con_wile001"},
        },
        {"status": "cancelled"},
    ],
}

WORKIVA: Sets = {
    "find_people": [{"query": "jane.smith@example.com"}],
    "find_records": [{"kind": "location"}, {"kind": "location", "query": "Q3", "limit": 1}],
    "create_task": [
        {
            "title": "Sign off the Q4 close",
            "description": "Every schedule tied out.",
            "due": "2031-02-15T17:00:00-05:00",
            "status": "in_progress",
            "assignees": [JANE],
            "vendor_fields": {
                "approvalSteps": [{"completionMode": "ONE", "participants": [PRIYA], "dueDate": "2031-02-14"}],
                "location": DOCUMENT,
                "notificationsDisabled": True,
            },
        }
    ],
    "list_tasks": [
        {},
        {
            "status": "todo",
            "assignee": JANE,
            "due_after": "2030-01-01",
            "due_before": "2032-12-31",
            "text": "Q4",
            "vendor_filters": {
                "location.resource": DOCUMENT["resource"],
                "location.segment": DOCUMENT["segment"],
                "approvalSteps.participants": PRIYA,
                "orderBy": "dueDate asc",
            },
            "limit": 5,
        },
        {"limit": 1},
    ],
    "update_task": [
        {
            "title": "Tie out the Q4 cash flow statement again",
            "description": "With the restated figures.",
            "due": "2031-03-01",
            "assignees": [ANA],
            "vendor_fields": {
                "approvalSteps": [{"completionMode": "ALL", "participants": [PRIYA, MARCUS], "dueDate": None}],
                "location": DOCUMENT,
                "owner": JANE,
            },
        }
    ],
}

SPOTDRAFT: Sets = {
    "find_people": [{"query": "priya.raman@acme-legal.example"}],
    "find_records": [{"kind": "workflow", "query": "Legal"}, {"kind": "workflow"}, {"kind": "role", "limit": 1}],
    "create_intake": [
        {
            "title": "Review the Globex data-processing addendum",
            "description": "New sub-processors listed.",
            "priority": "LOW",
            "due": "2031-04-04T10:00:00+05:30",
            "workflow_id": 7,
            "assignees": [{"user_id": "100", "role": "assigned_to"}, {"user_id": "101", "role": "collaborator"}],
            "metadata": {"source": "api", "system": "crm"},
        }
    ],
    "list_intakes": [
        {},
        {
            "query": "Acme",
            "status": ["PENDING", "IN_PROGRESS"],
            "priority": ["HIGH"],
            "sort": "-created_at",
            "page": 1,
            "limit": 5,
        },
        {"status": ["PENDING"], "priority": ["LOW", "MEDIUM"], "sort": "title", "page": 2, "limit": 1},
    ],
    "update_intake": [
        {
            "title": "Review the Globex DPA (second pass)",
            "description": "Sub-processors confirmed.",
            "status": "BLOCKED",
            "priority": "HIGH",
            "due": "2031-06-06",
            "metadata": {"source": "api", "reviewed": True},
        },
        {"clear_due": True},
    ],
    "update_intake_assignees": [
        {"assignees": [{"user_id": "102", "role": "collaborator"}], "mode": "add"},
        {"assignees": [{"user_id": "101", "role": "collaborator"}], "mode": "remove"},
    ],
    "create_task": [
        {
            "title": "Check the indemnity cap",
            "description": "Against the playbook.",
            "due": "2031-01-20T12:00:00Z",
            "assignees": ["100", {"role_id": "456"}],
            "vendor_fields": {"reminders": [{"value": 2, "type": "DAYS", "days": 2}], "contract_id": 1},
        },
        {"title": "Renew the Acme NDA", "assignees": ["101"], "vendor_fields": {"due_date_key_pointer_id": 77}},
        {
            "title": "Collect business justification",
            "description": "Follow up with procurement.",
            "assignees": ["102"],
            "priority": "HIGH",
            "status": "in_progress",
            "due": "2031-05-01T17:00:00Z",
            "intake_id": INTAKE,
        },
    ],
}

TRACKOPS: Sets = {
    "create_task": [{k: v for k, v in FULL_TASK.items() if k != "vendor"}],
    "find_records": [
        {"kind": "case"},
        {"kind": "case", "query": "NW-CLM", "limit": 1},
        {"kind": "subject", "query": "Hale"},
        {"kind": "subject", "limit": 2},
    ],
    "list_tasks": [
        {},
        {
            "status": "in_progress",
            "assignee": "2",
            "due_after": "2024-01-01",
            "due_before": "2032-12-31",
            "text": "Canvass",
            "vendor_filters": {
                "case": 245,
                "calendar": 3,
                "subject": 210,
                "complete_from": "2024-01-01",
                "complete_to": "2032-12-31T23:59:59Z",
                "alert_from": "2024-01-01T00:00:00-05:00",
                "alert_to": "2032-12-31",
                "alert_sent_from": "2024-01-01",
                "alert_sent_to": "2032-12-31",
                "created_from": "2024-01-01",
                "created_to": "2032-12-31",
                "updated_from": "2024-01-01",
                "updated_to": "2032-12-31",
            },
            "limit": 5,
        },
        {"vendor_filters": {"From": "2024-01-01", "To": "2032-12-31", "id": 1}, "limit": 1},
    ],
}

FULL: dict[str, Sets] = {"lightfield": LIGHTFIELD, "spotdraft": SPOTDRAFT, "trackops": TRACKOPS, "workiva": WORKIVA}

#: operations a vendor's manifest supports that an API version has no route for (the adapter refuses them)
NO_ROUTE = {"workiva 2022-01-01": {"get_task", "delete_task"}}
