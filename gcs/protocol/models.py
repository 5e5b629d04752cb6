"""Device model keys, product names and gateway kinds (protocol §2.2).

A *model key* is `"{domain}-{type}-{sub_type}"` (e.g. `0-67-0`, Matrice 30). A *payload index* is
`"{type}-{sub_type}-{gimbal_index}"` (e.g. `52-0-0`): the same digits with a different meaning.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Domain(enum.IntEnum):
    AIRCRAFT = 0
    PAYLOAD = 1
    RC = 2
    DOCK = 3


class GatewayKind(enum.StrEnum):
    DOCK = "dock"
    RC = "rc"


_KEY_RE = re.compile(r"^(\d{1,3})-(\d{1,6})-(\d{1,6})$")


@dataclass(frozen=True, slots=True)
class ModelKey:
    domain: int
    type: int
    sub_type: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.type}-{self.sub_type}"

    @classmethod
    def parse(cls, text: str) -> ModelKey:
        """Parse `"0-67-0"`. Raises ValueError naming the bad text."""
        m = _KEY_RE.match(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise ValueError(f"not a model key (domain-type-sub_type): {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    @property
    def name(self) -> str:
        return model_name(str(self)) or f"Unknown model {self}"


# Product names by model key. Aircraft, RCs, docks, then payloads (domain 1).
MODEL_NAMES: dict[str, str] = {
    "0-60-0": "Matrice 300 RTK",
    "0-89-0": "Matrice 350 RTK",
    "0-67-0": "Matrice 30",
    "0-67-1": "Matrice 30T",
    "0-77-0": "Mavic 3 Enterprise",
    "0-77-1": "Mavic 3 Thermal",
    "0-77-2": "Mavic 3 Multispectral",
    "0-77-3": "Mavic 3TA",
    "0-91-0": "Matrice 3D",
    "0-91-1": "Matrice 3TD",
    "0-99-0": "Matrice 4E",
    "0-99-1": "Matrice 4T",
    "0-100-0": "Matrice 4D",
    "0-100-1": "Matrice 4TD",
    "0-103-0": "Matrice 400",
    "2-56-0": "DJI Smart Controller Enterprise",
    "2-119-0": "DJI RC Plus",
    "2-144-0": "DJI RC Pro Enterprise",
    "2-174-0": "DJI RC Plus 2",
    "3-1-0": "DJI Dock",
    "3-2-0": "DJI Dock 2",
    "3-3-0": "DJI Dock 3",
    "1-20-0": "Zenmuse Z30",
    "1-26-0": "Zenmuse XT2",
    "1-39-0": "FPV camera",
    "1-41-0": "Zenmuse XT S",
    "1-42-0": "Zenmuse H20",
    "1-43-0": "Zenmuse H20T",
    "1-50-65535": "Zenmuse P1",
    "1-52-0": "M30 camera",
    "1-53-0": "M30T camera",
    "1-61-0": "Zenmuse H20N",
    "1-66-0": "Mavic 3E camera",
    "1-67-0": "Mavic 3T camera",
    "1-68-0": "Mavic 3M camera",
    "1-80-0": "M3D camera",
    "1-81-0": "M3TD camera",
    "1-82-0": "Zenmuse H30",
    "1-83-0": "Zenmuse H30T",
    "1-88-0": "Matrice 4E camera",
    "1-89-0": "Matrice 4T camera",
    "1-98-0": "Matrice 4D camera",
    "1-99-0": "Matrice 4TD camera",
    "1-129-0": "Mavic 3TA camera",
    "1-165-0": "Dock camera",
    "1-176-0": "Auxiliary camera",
    "1-90742-0": "Zenmuse L1",
}


def model_name(key: str) -> str | None:
    """Product name for a model key such as `0-67-0`, or None when the key is unknown."""
    return MODEL_NAMES.get(key)


def payload_name(payload_index: str) -> str | None:
    """Product name for a payload index such as `52-0-0` (type-sub_type-gimbal)."""
    parts = payload_index.split("-")
    if len(parts) != 3:
        return None
    return MODEL_NAMES.get(f"1-{parts[0]}-{parts[1]}")


def gateway_kind(key: str) -> GatewayKind | None:
    """Dock or RC for a gateway model key; None if the key is not a gateway."""
    if key.startswith("3-"):
        return GatewayKind.DOCK
    if key.startswith("2-"):
        return GatewayKind.RC
    return None


def domain_of(key: str) -> Domain | None:
    try:
        return Domain(ModelKey.parse(key).domain)
    except ValueError:
        return None
