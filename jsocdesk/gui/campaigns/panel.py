"""CampaignsPanel: the campaigns of the Exports tab (a tree: campaign row, chunk rows), and
the guard's question before a big plan is submitted.

The panel hides itself while there is no campaign.  :func:`ask_to_submit` shows the plan
(size, chunks, expected time) in a window-modal message box opened with ``open()`` (never
``exec()`` inside a coroutine) and calls back with the answer.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QMessageBox, QTreeView, QVBoxLayout, QWidget

from jsocdesk.core.campaign.plan import CampaignPlan
from jsocdesk.core.campaign.state import Campaign
from jsocdesk.core.campaign.workflow import printable
from jsocdesk.core.events import EventedList
from jsocdesk.gui.campaigns.model import COL_NAME, CampaignsModel


class CampaignsPanel(QWidget):
    def __init__(self, campaigns: EventedList[Campaign], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CampaignsModel(campaigns, self)
        self.title = QLabel("Campaigns (requests too big for one export, split in chunks)", self)
        self.view = QTreeView(self)
        self.view.setObjectName("campaignsView")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setColumnWidth(COL_NAME, 420)
        self.view.setMinimumHeight(150)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.model.modelReset.connect(self._update)
        self.model.rowsInserted.connect(self._update)
        self.model.rowsRemoved.connect(self._update)
        self._update()

    def detach(self) -> None:
        self.model.detach()

    def _update(self, *_args: object) -> None:
        has = self.model.rowCount() > 0
        self.setVisible(has)
        if has:
            self.view.expandAll()


def plan_text(plan: CampaignPlan) -> str:
    return "\n".join(printable(line, 300) for line in plan.describe())


def ask_to_submit(
    parent: QWidget, plan: CampaignPlan, answer: Callable[[bool], None]
) -> QMessageBox:
    """Show ``plan`` and ask whether to submit it; ``answer(True)`` on Submit."""
    box = QMessageBox(parent)
    box.setObjectName("campaignGuard")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Big request")
    box.setText(
        f"This request needs {plan.n_exports} export{'s' if plan.n_exports != 1 else ''}. "
        "Submit it as a campaign (one export at a time, each downloaded when ready)?"
    )
    box.setDetailedText(plan_text(plan))
    box.setInformativeText(plan.describe()[0])
    submit = box.addButton("Submit", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def done(_result: int) -> None:
        answer(box.clickedButton() is submit)
        box.deleteLater()

    box.finished.connect(done)
    box.open()
    return box
