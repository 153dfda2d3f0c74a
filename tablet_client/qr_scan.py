"""Scanning a pairing code's QR code with the tablet's camera.

Frames come from Qt Multimedia (``QCamera`` into a ``QVideoSink``) and are decoded with
zxing-cpp. Qt Multimedia is in the PySide6-Addons wheel, not in PySide6-Essentials: a
tablet without it (or without a camera) says so and the code is typed instead. Every
frame, from the camera or from a picture, goes through :meth:`QrScanner.take_frame`.
"""

from __future__ import annotations

import importlib
import logging
import time
from enum import StrEnum
from types import ModuleType
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from room_protocol.enrollment import LINK_SCHEME, PairingCode
from room_protocol.errors import ProtocolError

log = logging.getLogger(__name__)

DECODE_EVERY_S = 0.2  # a camera gives ~30 frames a second; five decodes are plenty
VIEWFINDER_EVERY_S = 0.1  # how often the viewfinder gets a new picture


class CameraState(StrEnum):
    READY = "ready"
    NO_MULTIMEDIA = "no_multimedia"  # PySide6-Addons (Qt Multimedia) is not installed
    NO_DECODER = "no_decoder"  # zxing-cpp is not installed
    NO_CAMERA = "no_camera"


def _zxing() -> ModuleType | None:
    try:
        return importlib.import_module("zxingcpp")
    except ImportError:
        return None


def _multimedia() -> ModuleType | None:
    """Qt Multimedia, when PySide6-Addons and its system libraries are installed."""
    try:
        return importlib.import_module("PySide6.QtMultimedia")
    except ImportError as exc:
        log.info("no camera support: %s", exc)
        return None


def decode_pairing(image: QImage) -> PairingCode | None:
    """The pairing code in a QR code in ``image``, or None (no QR code, or not ours)."""
    zxing = _zxing()
    if zxing is None or image.isNull():
        return None
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    for barcode in zxing.read_barcodes(grey, formats=zxing.BarcodeFormat.QRCode):
        text = str(barcode.text)
        if not text.lower().startswith(f"{LINK_SCHEME}://"):
            continue
        try:
            return PairingCode.parse(text)
        except ProtocolError:
            continue
    return None


def camera_state() -> CameraState:
    if _zxing() is None:
        return CameraState.NO_DECODER
    multimedia = _multimedia()
    if multimedia is None:
        return CameraState.NO_MULTIMEDIA
    if not multimedia.QMediaDevices.videoInputs():
        return CameraState.NO_CAMERA
    return CameraState.READY


class QrScanner(QObject):
    """Runs the camera while scanning; ``found`` gets the first pairing link it reads."""

    found = Signal(str)  # the scanned hemicycle://enroll link
    viewfinder = Signal(QImage)  # a recent frame, to show what the camera sees

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._camera: Any = None
        self._session: Any = None
        self._sink: Any = None
        self._decoded_at = 0.0
        self._shown_at = 0.0

    @property
    def scanning(self) -> bool:
        return self._camera is not None

    def start(self) -> CameraState:
        """Start the first camera; what stands in the way if it cannot."""
        state = camera_state()
        multimedia = _multimedia()
        if state is not CameraState.READY or multimedia is None:
            return state
        self._decoded_at = self._shown_at = 0.0
        self._camera = multimedia.QCamera(multimedia.QMediaDevices.defaultVideoInput())
        self._sink = self.watch(multimedia.QVideoSink(self))
        self._session = multimedia.QMediaCaptureSession(self)
        self._session.setCamera(self._camera)
        self._session.setVideoSink(self._sink)
        self._camera.start()
        return state

    def watch(self, sink: Any) -> Any:
        """Take every frame that reaches ``sink`` (a QVideoSink); returns it."""
        sink.videoFrameChanged.connect(lambda frame: self.take_frame(frame.toImage()))
        return sink

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
        self._camera = self._session = self._sink = None

    def take_frame(self, image: QImage, *, now: float | None = None) -> PairingCode | None:
        """Show and decode one frame (at most every DECODE_EVERY_S); the code it holds."""
        now = time.monotonic() if now is None else now
        if now - self._shown_at >= VIEWFINDER_EVERY_S:
            self._shown_at = now
            self.viewfinder.emit(image)
        if now - self._decoded_at < DECODE_EVERY_S:
            return None
        self._decoded_at = now
        code = decode_pairing(image)
        if code is not None and code.ca_sha256 is not None:
            self.stop()
            self.found.emit(code.link(code.ca_sha256, code.room_id or ""))
        return code
