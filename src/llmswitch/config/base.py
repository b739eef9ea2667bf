"""The base of every config model (unknown keys are errors, values are immutable) and shared field types."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
_HEADER_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=_NAME_PATTERN, max_length=128)]
HeaderName = Annotated[str, Field(pattern=_HEADER_PATTERN, description="Lower-case HTTP header name.")]
Port = Annotated[int, Field(ge=1, le=65535)]
