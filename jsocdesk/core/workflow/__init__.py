"""The workflow both the window and the CLI run: plan → export → download → session.

* :mod:`.plan` — the export plan (:func:`make_export_plan`): methods and protocols as enums,
  the one size estimator, the automatic method with its reason;
* :mod:`.files` — the files of a finished export (:func:`export_downloads`,
  :func:`enqueue_export`) and the one local naming rule (:func:`local_name`);
* :mod:`.session` — the session's ``export``/``jobs``/``downloads`` sections: written by
  :func:`workflow_sections`, parsed and confined by :func:`parse_workflow`;
* :mod:`.server` — which server a session was made against (:class:`ServerIdentity`).

See ``docs/workflow.md``.
"""

from jsocdesk.core.workflow.files import (
    ExportDownload,
    enqueue_export,
    export_downloads,
    local_name,
)
from jsocdesk.core.workflow.plan import (
    ExportMethod,
    ExportPlan,
    ExportProtocol,
    MethodChoice,
    PlanEntry,
    SizeEstimate,
    choose_method,
    estimate_compiled,
    estimate_record_set,
    make_export_plan,
    record_bytes,
    segment_bytes,
)
from jsocdesk.core.workflow.server import ServerIdentity, ServerKind, rebase_url
from jsocdesk.core.workflow.session import (
    ExportOptions,
    PendingWrites,
    WorkflowState,
    apply_workflow,
    parse_workflow,
    workflow_sections,
)

__all__ = [
    "ExportDownload",
    "ExportMethod",
    "ExportOptions",
    "ExportPlan",
    "ExportProtocol",
    "MethodChoice",
    "PendingWrites",
    "PlanEntry",
    "ServerIdentity",
    "ServerKind",
    "SizeEstimate",
    "WorkflowState",
    "apply_workflow",
    "choose_method",
    "enqueue_export",
    "estimate_compiled",
    "estimate_record_set",
    "export_downloads",
    "local_name",
    "make_export_plan",
    "parse_workflow",
    "rebase_url",
    "record_bytes",
    "segment_bytes",
    "workflow_sections",
]
