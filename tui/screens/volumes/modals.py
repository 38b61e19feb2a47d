"""Dialogs of the volume browser: create a volume, make a folder.

Both validate as you type with the backend's own rules and messages, show the problem under the
form, keep their confirm button disabled while the input is invalid, and run the backend call
themselves, so an error the backend finds only when acting (a leftover folder, a missing
``mkfs.ext4``) is shown in the same place and the dialog stays open. Esc cancels.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from backend.errors import BackendError, InvalidConfigError
from backend.volumes.disk_image import check_capacity
from backend.volumes.models import VolumeConfig, validate_config
from backend.volumes.paths import split_path
from tui.modals.dialog import Dialog
from tui.screens.volumes.names import display_path

_DIALOG_CSS = """
    & > .dialog-frame { width: 76; }
    & .dialog-title { text-style: bold; width: 100%; }
    & .field-label { width: 100%; color: $text-muted; margin-top: 1; }
    & Input { margin: 0; background: $boost; }
    & Input.-invalid { color: $text-error; text-style: bold; }
    & Select { margin: 0; }
    & .dialog-error { color: $text-error; text-style: bold; width: 100%; height: auto; min-height: 1; }
    & .dialog-hint { color: $text-muted; width: 100%; }
    & .dialog-buttons { height: auto; align-horizontal: right; }
    & .dialog-buttons Button { margin-left: 2; min-width: 10; }
"""


def parse_size_mib(text: str) -> int:
    """``msb volume create --size``: ``512``/``512M`` MiB, ``1.5G`` GiB (truncated to MiB)."""
    value = text.strip()
    try:
        if value[-1:] in ("G", "g"):
            number = float(value[:-1])
            if not math.isfinite(number) or number < 0:
                raise ValueError(value)
            return int(number * 1024)
        if value[-1:] in ("M", "m"):
            value = value[:-1]
        number_mib = int(value, 10)
        if number_mib < 0:
            raise ValueError(value)
        return number_mib
    except ValueError:
        raise InvalidConfigError(
            f"invalid size {text.strip()!r}: use MiB (512 or 512M) or GiB (1.5G)") from None


def parse_labels(text: str) -> list[tuple[str, str]]:
    """``team=web, tier=prod`` as ordered pairs (``key`` alone means an empty value)."""
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, _eq, value = item.partition("=")
        if not key.strip():
            raise InvalidConfigError(f"label {item!r} has no key: write key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def build_config(name: str, kind: str, size: str, labels: str) -> VolumeConfig:
    """The volume to create from the form's text, validated (``InvalidConfigError``,
    ``DiskTooSmallError``)."""
    pairs = parse_labels(labels)
    if kind == "disk":
        if not size.strip():
            raise InvalidConfigError("disk named volumes require .size(...) / --size")
        config = VolumeConfig.disk(name, capacity_mib=parse_size_mib(size), labels=pairs)
        validate_config(config)
        check_capacity(config.capacity_mib or 0)
        return config
    quota = parse_size_mib(size) if size.strip() else None
    config = VolumeConfig.directory(name, quota_mib=quota, labels=pairs)
    validate_config(config)
    return config


class CreateVolumeModal(Dialog[str | None]):
    """Name, kind, quota or size, labels; dismisses with the new volume's name."""

    DEFAULT_CSS = "CreateVolumeModal {" + _DIALOG_CSS + "}"

    def __init__(self, existing: Collection[str], create: Callable[[VolumeConfig], Awaitable[Any]]) -> None:
        super().__init__(cancel_result=None)
        self.existing = set(existing)
        self.create = create
        self.config: VolumeConfig | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-frame"):
            yield Label("Create a volume", classes="dialog-title")
            yield Label("Name (letters, digits, . _ -; starts with a letter or digit)", classes="field-label")
            yield Input(id="volume-name", placeholder="my-volume", compact=True)
            yield Label("Kind", classes="field-label")
            kinds = [("directory (a host folder, virtiofs)", "dir"),
                     ("disk (an ext4 image, virtio-blk)", "disk")]
            yield Select(kinds, value="dir", allow_blank=False, id="volume-kind", compact=True)
            yield Label("", id="size-label", classes="field-label")
            yield Input(id="volume-size", compact=True)
            yield Label("Labels (optional): key=value, key2=value2", classes="field-label")
            yield Input(id="volume-labels", placeholder="team=web, tier=prod", compact=True)
            yield Static("", id="create-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self._kind_changed()
        self.query_one("#volume-name", Input).focus()

    @property
    def kind(self) -> str:
        """The chosen kind, ``dir`` or ``disk``."""
        value = self.query_one("#volume-kind", Select).value
        return value if isinstance(value, str) else "dir"

    @on(Select.Changed, "#volume-kind")
    def _kind_changed(self) -> None:
        disk = self.kind == "disk"
        self.query_one("#size-label", Label).update(
            "Size (required): 512M, 1.5G or MiB; at least 67 MiB" if disk
            else "Quota (optional): 512M, 2G or MiB; caps what sandboxes write into it")
        self.query_one("#volume-size", Input).placeholder = "1G" if disk else "no quota"
        self.validate_form()

    @on(Input.Changed)
    def _input_changed(self) -> None:
        self.validate_form()

    def _check(self) -> tuple[VolumeConfig | None, str | None, str]:
        """``(config, culprit field, message)`` for the form as it stands."""
        name = self.query_one("#volume-name", Input).value
        labels = self.query_one("#volume-labels", Input).value
        try:
            parse_labels(labels)
        except BackendError as exc:
            return None, "labels", exc.message
        try:
            config = build_config(name, self.kind, self.query_one("#volume-size", Input).value, labels)
        except BackendError as exc:
            return None, "name" if "volume name" in exc.message else "size", exc.message
        if name in self.existing:
            return None, "name", f"volume already exists: {name}"
        return config, None, ""

    def validate_form(self) -> VolumeConfig | None:
        """Check the form; show the first problem and keep Create disabled while there is one."""
        config, culprit, message = self._check()
        if culprit == "name" and not self.query_one("#volume-name", Input).value:
            culprit, message = None, ""  # an empty name is not an error yet, only not ready
        for key in ("name", "size", "labels"):
            self.query_one(f"#volume-{key}", Input).set_class(key == culprit, "-invalid")
        self.query_one("#create-error", Static).update(message)
        self.query_one("#create", Button).disabled = config is None
        self.config = config
        return config

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def _submit(self) -> None:
        config = self.validate_form()
        if config is not None:
            self.query_one("#create", Button).disabled = True
            self.query_one("#create-error", Static).update(f"Creating {config.name}…")
            self._run_create(config)

    @work(exclusive=True, group="create-volume", exit_on_error=False)
    async def _run_create(self, config: VolumeConfig) -> None:
        try:
            await self.create(config)
        except BackendError as exc:
            self.query_one("#create-error", Static).update(exc.message)
            self.query_one("#create", Button).disabled = False
            return
        self.dismiss(config.name)


class NewFolderModal(Dialog[str | None]):
    """A folder name (or ``a/b`` path) inside ``parent``; dismisses with its volume path."""

    DEFAULT_CSS = "NewFolderModal {" + _DIALOG_CSS + "}"

    def __init__(self, volume: str, parent: tuple[str, ...], existing: Collection[str],
                 make: Callable[[str], Awaitable[Any]]) -> None:
        super().__init__(cancel_result=None)
        self.volume = volume
        self.folder_parts = parent
        self.existing = set(existing)
        self.make = make

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-frame"):
            where = f"{self.volume}:{display_path(self.folder_parts)}"
            yield Label(f"New folder in {where}", classes="dialog-title", markup=False)
            yield Label("Folder name (a/b makes both)", classes="field-label")
            yield Input(id="folder-name", placeholder="new-folder", compact=True)
            yield Static("", id="folder-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#folder-name", Input).focus()

    def target(self) -> str | None:
        """The new folder's volume path, or None (with the reason shown) when the name is not usable."""
        text = self.query_one("#folder-name", Input).value
        problem = ""
        path: str | None = None
        try:
            parts = split_path("/".join((*self.folder_parts, text)))
            if not text.strip("/ "):
                problem = ""
            elif text.startswith("/"):
                problem = "give a name relative to this folder (no leading /)"
            elif len(parts) <= len(self.folder_parts) or parts[: len(self.folder_parts)] != self.folder_parts:
                problem = "the folder must be inside this one (no ..)"
            elif len(parts) == len(self.folder_parts) + 1 and parts[-1] in self.existing:
                problem = f"{display_path(parts)} already exists"
            else:
                path = "/" + "/".join(parts)
        except BackendError as exc:
            problem = exc.message
        self.query_one("#folder-name", Input).set_class(bool(problem), "-invalid")
        self.query_one("#folder-error", Static).update(problem)
        self.query_one("#create", Button).disabled = path is None
        return path

    @on(Input.Changed)
    def _changed(self) -> None:
        self.target()

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def _submit(self) -> None:
        path = self.target()
        if path is not None:
            self.query_one("#create", Button).disabled = True
            self._run_make(path)

    @work(exclusive=True, group="new-folder", exit_on_error=False)
    async def _run_make(self, path: str) -> None:
        try:
            await self.make(path)
        except BackendError as exc:
            self.query_one("#folder-error", Static).update(exc.message)
            self.query_one("#create", Button).disabled = False
            return
        self.dismiss(path)
