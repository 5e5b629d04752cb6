"""Small building blocks shared by the device panels: a property form and an attitude indicator."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QWidget,
)

from gcs.ui.i18n import tr

Reader = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Row:
    """One line of a property form: `key` names the value label (objectName "value.<key>")."""

    key: str
    label: str  # English source text
    read: Reader


@dataclass(frozen=True)
class Group:
    title: str  # English source text
    rows: Sequence[Row]


class PropertyForm(QScrollArea):
    """Groups of "label: value" rows filled from a device's merged state."""

    def __init__(
        self, groups: Sequence[Group], columns: int = 3, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setContentsMargins(4, 4, 4, 4)
        self._grid = grid
        self._columns = 0
        self._max_columns = columns
        self._groups = list(groups)
        self._boxes: list[QGroupBox] = []
        self._names: dict[str, QLabel] = {}
        self._values: dict[str, QLabel] = {}
        for group in self._groups:
            box = QGroupBox(tr(group.title))
            form = QFormLayout(box)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
            form.setContentsMargins(6, 4, 6, 4)
            form.setVerticalSpacing(2)
            for row in group.rows:
                name = QLabel(tr(row.label))
                value = QLabel("—")
                value.setObjectName(f"value.{row.key}")
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                value.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
                form.addRow(name, value)
                self._names[row.key] = name
                self._values[row.key] = value
            self._boxes.append(box)
        self.setWidget(inner)
        self._reflow(1)

    COLUMN_WIDTH = 300

    def _reflow(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for box in self._boxes:
            self._grid.removeWidget(box)
        for i, box in enumerate(self._boxes):
            self._grid.addWidget(box, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        self._grid.setRowStretch(len(self._boxes) // columns + 1, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        fit = max(1, min(self._max_columns, self.viewport().width() // self.COLUMN_WIDTH))
        self._reflow(fit)

    def update_values(self, state: Mapping[str, Any]) -> None:
        """Refresh every value from `state`; a reader that fails shows "—" (logged once)."""
        for group in self._groups:
            for row in group.rows:
                try:
                    text = row.read(state)
                except Exception:  # a reader bug must not break the panel
                    text = "—"
                label = self._values[row.key]
                if label.text() != text:
                    label.setText(text)

    def value(self, key: str) -> str:
        """The text shown for row `key` (for tests and copy)."""
        return self._values[key].text()

    def retranslate(self) -> None:
        for box, group in zip(self._boxes, self._groups, strict=True):
            box.setTitle(tr(group.title))
            for row in group.rows:
                self._names[row.key].setText(tr(row.label))


class AttitudeIndicator(QWidget):
    """An artificial horizon (pitch, roll) with a heading readout."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pitch = 0.0
        self.roll = 0.0
        self.heading: float | None = None
        self.valid = False
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_attitude(self, pitch: float | None, roll: float | None, heading: float | None) -> None:
        valid = pitch is not None and roll is not None
        new = (pitch or 0.0, roll or 0.0, heading, valid)
        if new != (self.pitch, self.roll, self.heading, self.valid):
            self.pitch, self.roll, self.heading, self.valid = new
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        side = min(self.width(), self.height()) - 8
        if side <= 10:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(self.width() / 2, self.height() / 2)
        r = side / 2
        clip = QPainterPath()
        clip.addEllipse(QPointF(0, 0), r, r)
        painter.setClipPath(clip)
        px_per_deg = r / 45.0
        painter.save()
        painter.rotate(-self.roll)
        offset = self.pitch * px_per_deg
        sky = QColor("#3b7dd8") if self.valid else QColor("#777")
        ground = QColor("#8a5a2b") if self.valid else QColor("#555")
        painter.fillRect(QRectF(-2 * r, -2 * r + offset, 4 * r, 2 * r), sky)
        painter.fillRect(QRectF(-2 * r, offset, 4 * r, 2 * r), ground)
        painter.setPen(QPen(Qt.GlobalColor.white, 1.5))
        painter.drawLine(QPointF(-2 * r, offset), QPointF(2 * r, offset))
        painter.setFont(QFont(painter.font().family(), max(6, int(r / 9))))
        for deg in (-20, -10, 10, 20):
            y = offset - deg * px_per_deg
            w = r * (0.35 if deg % 20 == 0 else 0.2)
            painter.drawLine(QPointF(-w, y), QPointF(w, y))
            painter.drawText(QPointF(w + 3, y + 4), str(abs(deg)))
        painter.restore()
        painter.setClipping(False)
        # aircraft symbol and bezel
        painter.setPen(QPen(QColor("#ffcc00"), 3))
        painter.drawLine(QPointF(-r * 0.5, 0), QPointF(-r * 0.15, 0))
        painter.drawLine(QPointF(r * 0.15, 0), QPointF(r * 0.5, 0))
        painter.drawPoint(QPointF(0, 0))
        painter.setPen(QPen(QColor("#222"), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(0, 0), r, r)
        # roll pointer
        painter.save()
        painter.rotate(-self.roll)
        painter.setBrush(QColor("#ffcc00"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(
            QPolygonF([QPointF(0, -r + 2), QPointF(-6, -r + 12), QPointF(6, -r + 12)])
        )
        painter.restore()
        if self.heading is not None:
            painter.setPen(Qt.GlobalColor.white)
            text = f"{round(self.heading) % 360:03d}°"
            painter.drawText(
                QRectF(-r, r * 0.55, 2 * r, r * 0.3), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.end()


def heading_to_compass(deg: float) -> str:
    """Compass point (N, NE, ...) of a heading in degrees."""
    points = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return points[math.floor(((deg % 360) + 22.5) / 45) % 8]
