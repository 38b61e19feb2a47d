"""Tolerant reading of a stored sandbox config (reference section 6.3 and Appendix C).

microsandbox fails a whole list on one odd row; here every oddity becomes a line in ``problems`` and
the rest of the row is still shown. Missing keys take microsandbox's defaults silently (it reads them
that way too); nulls and wrong types where a value is required are reported.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from backend.jsonio import JsonError, loads_row
from backend.paths import owned_volume_id
from backend.sandboxes.models import MountInfo, PortInfo

DEFAULT_CPUS = 1
DEFAULT_MEMORY_MIB = 512
MASK = "********"
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "KEY", "CREDENTIAL", "AUTH", "PRIVATE",
                "COOKIE", "SESSION", "SIGNATURE", "CERT")


@dataclass
class ParsedConfig:
    """The parts of a config a list and a detail view need, with what was wrong along the way."""

    document: dict[str, Any] | None = None
    image: str = "-"
    image_kind: str | None = None
    image_detail: dict[str, Any] = field(default_factory=dict)
    cpus: int | None = DEFAULT_CPUS
    memory_mib: int | None = DEFAULT_MEMORY_MIB
    labels: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[MountInfo, ...] = ()
    ports: tuple[PortInfo, ...] = ()
    command: str | None = None
    #: 0.7: the ceilings a running sandbox may be resized to (``resources.max_*``), None when absent.
    max_cpus: int | None = None
    max_memory_mib: int | None = None
    ephemeral: bool | None = None
    config_name: str | None = None
    problems: list[str] = field(default_factory=list)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _obj(parent: Mapping[str, Any], key: str, where: str, problems: list[str]) -> Mapping[str, Any] | None:
    """``parent[key]`` when it is an object; None (silently) when absent; None plus a problem otherwise."""
    if key not in parent:
        return None
    value = parent[key]
    if isinstance(value, dict):
        return value
    problems.append(f"{where} is {_kind(value)}, expected an object")
    return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def parse_config(text: object) -> ParsedConfig:
    """Parse the stored ``sandbox.config`` text. Never raises."""
    parsed = ParsedConfig()
    problems = parsed.problems
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
        problems.append("config is stored as a blob, not text")
    if not isinstance(text, str):
        problems.append(f"config is {_kind(text)}, expected JSON text")
        return parsed
    try:
        document = loads_row(text)
    except JsonError as exc:
        problems.append(f"config is not valid JSON ({exc}); microsandbox cannot read this row")
        return parsed
    if not isinstance(document, dict):
        problems.append(f"config is {_kind(document)}, expected a JSON object")
        return parsed
    parsed.document = document
    if isinstance(document.get("name"), str):
        parsed.config_name = document["name"]
    _read_image(document, parsed)
    _read_resources(document, parsed)
    _read_labels(document, parsed)
    _read_mounts(document, parsed)
    _read_ports(document, parsed)
    _read_command(document, parsed)
    lifecycle = _obj(document, "lifecycle", "lifecycle", problems)
    if lifecycle is not None and "ephemeral" in lifecycle:
        value = lifecycle["ephemeral"]
        if isinstance(value, bool):
            parsed.ephemeral = value
        else:
            problems.append(f"lifecycle.ephemeral is {_kind(value)}, expected true or false")
    return parsed


@functools.lru_cache(maxsize=2048)
def parse_config_for_row(text: object) -> ParsedConfig:
    """:func:`parse_config` without the document, cached by the stored text.

    microsandbox never rewrites a sandbox's config (only its status and times change), so a list that
    refreshes every few seconds parses each visible config once. The result is shared: do not mutate it.
    """
    parsed = parse_config(text)
    parsed.document = None
    parsed.labels = MappingProxyType(dict(parsed.labels))
    return parsed


def _read_image(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    problems = parsed.problems
    if "image" not in document:
        problems.append("config has no image")
        return
    image = document["image"]
    if not isinstance(image, dict) or len(image) != 1:
        problems.append(f"image is {_kind(image)}, expected one of Oci, Bind or DiskImage")
        return
    ((kind, value),) = image.items()
    parsed.image_kind = kind
    if kind == "Oci":
        if isinstance(value, str):  # legacy rows before migration 8
            parsed.image = value
        elif isinstance(value, dict) and isinstance(value.get("reference"), str):
            parsed.image = value["reference"]
            parsed.image_detail = dict(value)
        else:
            problems.append("image.Oci has no reference")
    elif kind == "Bind":
        if isinstance(value, str):  # 0.5; migration 15 (0.7) turns it into an object
            parsed.image = value
        elif isinstance(value, dict) and isinstance(value.get("path"), str):
            parsed.image = value["path"]
            parsed.image_detail = dict(value)
        else:
            problems.append(f"image.Bind is {_kind(value)}, expected a path or an object with a path")
    elif kind == "DiskImage":
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            parsed.image = value["path"]
            parsed.image_detail = dict(value)
        else:
            problems.append("image.DiskImage has no path")
    else:
        problems.append(f"unknown image kind {kind!r}")
        if isinstance(value, str):
            parsed.image = value


def _read_resources(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    if "resources" not in document:
        return
    resources = document["resources"]
    if not isinstance(resources, dict):
        parsed.problems.append(f"resources is {_kind(resources)}, expected an object")
        parsed.cpus = parsed.memory_mib = None
        return
    for key, limit in (("cpus", 255), ("memory_mib", 2**32 - 1), ("max_cpus", 255), ("max_memory_mib", 2**32 - 1)):
        if key not in resources or (key.startswith("max_") and resources[key] is None):
            continue
        value = resources[key]
        if _is_int(value) and 0 <= value <= limit:
            setattr(parsed, key, value)
        else:
            setattr(parsed, key, None)
            shown = "null" if value is None else repr(value)
            parsed.problems.append(f"resources.{key} is {shown}, expected a whole number 0..{limit}")


def _read_labels(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    labels = _obj(document, "labels", "labels", parsed.problems)
    if labels is None:
        return
    out: dict[str, str] = {}
    for key, value in labels.items():
        if isinstance(value, str):
            out[key] = value
        else:
            parsed.problems.append(f"label {key!r} is {_kind(value)}, expected text (not matched by filters)")
    parsed.labels = out


def _flags(options: Mapping[str, Any]) -> str:
    parts = ["ro" if options.get("readonly") is True else "rw"]
    parts += [flag for flag in ("noexec", "nosuid", "nodev") if options.get(flag) is True]
    return ",".join(parts)


def _read_mounts(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    if "mounts" not in document:
        return
    mounts = document["mounts"]
    if not isinstance(mounts, list):
        parsed.problems.append(f"mounts is {_kind(mounts)}, expected a list")
        return
    out: list[MountInfo] = []
    for index, mount in enumerate(mounts):
        if not isinstance(mount, dict):
            parsed.problems.append(f"mounts[{index}] is {_kind(mount)}, expected an object")
            continue
        kind = mount.get("type")
        options = mount.get("options")
        if not isinstance(options, dict):
            options = {"readonly": mount.get("readonly") is True}  # legacy shape
        guest = str(mount["guest"]) if isinstance(mount.get("guest"), str) else "?"
        size = mount.get("size_mib") if _is_int(mount.get("size_mib")) else None
        if kind == "Bind":
            source = str(mount.get("host", "?"))
            display = source
        elif kind == "Named":
            source = str(mount.get("name", "?"))
            display = f"volume:{source}"
        elif kind == "Tmpfs":
            source = "tmpfs"
            display = "tmpfs" if size is None else f"tmpfs ({size} MiB)"
        elif kind == "DiskImage":
            source = str(mount.get("host", "?"))
            fstype = mount.get("fstype") if isinstance(mount.get("fstype"), str) else "auto"
            display = f"disk:{source} ({mount.get('format', '?')}) [{fstype}]"
        elif kind == "Owned":  # 0.7: storage that lives and dies with the sandbox
            source = owned_volume_id(guest) if guest != "?" else "?"
            display, size = _owned_display(mount.get("storage"), index, parsed.problems)
        else:
            parsed.problems.append(f"mounts[{index}] has unknown type {kind!r}")
            source = str(mount.get("host", mount.get("name", "?")))
            display = source
        policy = []
        stat = mount.get("stat_virtualization", "strict")
        perms = mount.get("host_permissions", "private")
        if stat not in (None, "strict"):
            policy.append(f"stat-virt={stat}")
        if perms not in (None, "private"):
            policy.append(f"host-perms={perms}")
        if mount.get("follow_root_symlinks") is True:
            policy.append("follow-root-symlinks")
        flags = _flags(options) + (f" [{','.join(policy)}]" if policy else "")
        out.append(MountInfo(
            kind=str(kind), source=source, guest=guest, readonly=options.get("readonly") is True,
            display=display, flags=flags, size_mib=size,
        ))
    parsed.mounts = tuple(out)


def _owned_display(storage: object, index: int, problems: list[str]) -> tuple[str, int | None]:
    """``owned dir (quota 50 MiB)`` / ``owned disk (128 MiB)``, and the size in MiB."""
    if not isinstance(storage, dict) or storage.get("kind") not in ("directory", "disk"):
        problems.append(f"mounts[{index}].storage is not a directory or disk storage")
        return "owned", None
    if storage["kind"] == "disk":
        size = storage.get("capacity_mib") if _is_int(storage.get("capacity_mib")) else None
        return ("owned disk" if size is None else f"owned disk ({size} MiB)"), size
    quota = storage.get("quota_mib") if _is_int(storage.get("quota_mib")) else None
    return ("owned dir" if quota is None else f"owned dir (quota {quota} MiB)"), quota


def _read_ports(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    network = _obj(document, "network", "network", parsed.problems)
    if network is None or network.get("enabled") is False or "ports" not in network:
        return
    ports = network["ports"]
    if not isinstance(ports, list):
        parsed.problems.append(f"network.ports is {_kind(ports)}, expected a list")
        return
    out: list[PortInfo] = []
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            parsed.problems.append(f"network.ports[{index}] is {_kind(port)}, expected an object")
            continue
        host = port.get("host_port")
        guest = port.get("guest_port")
        if not _is_int(host) or not _is_int(guest):
            parsed.problems.append(f"network.ports[{index}] has no valid host_port/guest_port")
        protocol = port.get("protocol", "tcp")
        bind = port.get("host_bind", "127.0.0.1")
        out.append(PortInfo(
            host_port=host if _is_int(host) else None,
            guest_port=guest if _is_int(guest) else None,
            protocol=protocol if isinstance(protocol, str) else "tcp",
            host_bind=bind if isinstance(bind, str) else "127.0.0.1",
        ))
    parsed.ports = tuple(out)


def _read_command(document: Mapping[str, Any], parsed: ParsedConfig) -> None:
    runtime = _obj(document, "runtime", "runtime", parsed.problems)
    if runtime is None:
        return
    words: list[str] = []
    for key in ("entrypoint", "cmd"):
        value = runtime.get(key)
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(w, str) for w in value):
            words.extend(value)
        else:
            parsed.problems.append(f"runtime.{key} is {_kind(value)}, expected a list of text")
    parsed.command = " ".join(words) if words else None


def looks_secret(key: str) -> bool:
    """True for env keys whose value should not be shown (``API_TOKEN``, ``DB_PASSWORD``, ``*_KEY``…)."""
    upper = key.upper()
    return any(word in upper for word in SECRET_WORDS)


def masked_document(document: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A deep copy of ``document`` with secret-looking env values and every ``network.secrets`` value
    replaced by :data:`MASK`; also the names of what was masked."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    masked: list[str] = []
    env = copy.get("env")
    if isinstance(env, list):
        for entry in env:
            if (isinstance(entry, dict) and isinstance(entry.get("key"), str) and looks_secret(entry["key"])
                    and entry.get("value") not in (None, "")):
                entry["value"] = MASK
                masked.append(f"env.{entry['key']}")
    init = copy.get("init")
    if isinstance(init, dict) and isinstance(init.get("env"), list):
        for entry in init["env"]:
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and looks_secret(entry[0]):
                entry[1] = MASK
                masked.append(f"init.env.{entry[0]}")
            elif isinstance(entry, dict) and isinstance(entry.get("key"), str) and looks_secret(entry["key"]):
                entry["value"] = MASK
                masked.append(f"init.env.{entry['key']}")
    network = copy.get("network")
    if isinstance(network, dict) and network.get("secrets") is not None:
        network["secrets"] = _mask_all(network["secrets"])
        masked.append("network.secrets")
    return copy, tuple(masked)


def _mask_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    if isinstance(value, str):
        return MASK
    return value


def env_pairs(document: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """``(key, value)`` pairs of ``config.env`` (already masked if ``document`` is)."""
    if document is None or not isinstance(document.get("env"), list):
        return ()
    out: list[tuple[str, str]] = []
    for entry in document["env"]:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            value = entry.get("value")
            out.append((entry["key"], value if isinstance(value, str) else json.dumps(value)))
    return tuple(out)
