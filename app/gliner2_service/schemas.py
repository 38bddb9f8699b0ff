"""Request and response bodies (pydantic validates types; limits from Settings are checked in main)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictStr

TextInput = Union[StrictStr, List[StrictStr]]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: TextInput = Field(description="One text or a list of texts")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="Score a span or label must exceed")

    def texts(self) -> List[str]:
        return [self.text] if isinstance(self.text, str) else list(self.text)


class EntitiesRequest(_Request):
    labels: List[StrictStr] = Field(description="Entity types to extract")


class ClassifyRequest(_Request):
    tasks: Dict[StrictStr, List[StrictStr]] = Field(description="Task name -> candidate labels")


class JsonRequest(_Request):
    structures: Dict[StrictStr, List[StrictStr]] = Field(
        description="Structure name -> field specs such as 'name::str' or 'price'")


class InferenceResponse(BaseModel):
    model: str
    device: str
    results: List[Dict[str, Any]]


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    ready: bool
    device: Optional[str] = None
    model: Optional[str] = None
    load_seconds: Optional[float] = None
    reason: Optional[str] = None
