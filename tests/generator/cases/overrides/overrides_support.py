"""A hand-written type that an override points at (imported by the generated code)."""

from pydantic import BaseModel


class DeviceSpec(BaseModel):
    voltage: float
    pins: int
