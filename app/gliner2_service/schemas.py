"""Request and response bodies. The request models are built from the Settings, so that every limit a
request is checked against is stated in the OpenAPI schema (maxLength, maxItems, maxProperties, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Dict, List, Optional, Type, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from .settings import Settings

#: A string must hold something the model can read: at least one non-space character (JSON Schema
#: ``pattern`` is a search, so this reads "contains a non-space character").
NOT_BLANK = r"\S"


def _utf8(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); the tokenizer cannot encode them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode, but got a lone surrogate") from None
    return value


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx body: one line saying what was wrong and what was expected."""

    detail: str = Field(description="What was wrong, the limit or expected form, and what was found")


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


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Any
    threshold: Any

    def texts(self) -> List[str]:
        return [self.text] if isinstance(self.text, str) else list(self.text)


@dataclass(frozen=True)
class RequestModels:
    entities: Type[_Request]
    classify: Type[_Request]
    json: Type[_Request]


def request_models(settings: Settings) -> RequestModels:
    """The three request bodies with the limits of ``settings`` in their schema."""
    text_type = Annotated[StrictStr, StringConstraints(min_length=1, max_length=settings.max_text_chars,
                                                       pattern=NOT_BLANK), AfterValidator(_utf8)]
    label_type = Annotated[StrictStr, StringConstraints(min_length=1, max_length=settings.max_label_chars,
                                                        pattern=NOT_BLANK), AfterValidator(_utf8)]
    labels_type = Annotated[List[label_type], Field(min_length=1, max_length=settings.max_labels)]
    named_type = Annotated[Dict[label_type, labels_type],
                           Field(min_length=1, max_length=settings.max_labels)]
    text_input = Union[text_type, Annotated[List[text_type],
                                            Field(min_length=1, max_length=settings.max_texts)]]
    threshold_type = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, strict=True,
                                            description="Score a span or label must exceed")]
    text_doc = (f"One text or a list of at most {settings.max_texts} (MAX_TEXTS), each at most "
                f"{settings.max_text_chars} characters (MAX_TEXT_CHARS); each text with its schema prompt "
                f"must fit the model's positions (MAX_TOKENS) and all texts together at most "
                f"{settings.max_request_tokens} tokens (MAX_REQUEST_TOKENS), else 422")

    class EntitiesRequest(_Request):
        text: text_input = Field(description=text_doc)
        threshold: threshold_type = 0.5
        labels: labels_type = Field(description="Entity types to extract")

    class ClassifyRequest(_Request):
        text: text_input = Field(description=text_doc)
        threshold: threshold_type = 0.5
        tasks: named_type = Field(description="Task name -> candidate labels")

    class JsonRequest(_Request):
        text: text_input = Field(description=text_doc)
        threshold: threshold_type = 0.5
        structures: named_type = Field(
            description="Structure name -> field specs such as 'name::str' or 'price'")

    return RequestModels(EntitiesRequest, ClassifyRequest, JsonRequest)


#: The limit each kind of constraint enforces, by the field it sits on (for messages naming the setting).
def limit_name(field: str, kind: str) -> str:
    """The environment variable of the limit ``kind`` ('chars' or 'items') on ``field``."""
    if field == "text":
        return "MAX_TEXT_CHARS" if kind == "chars" else "MAX_TEXTS"
    return "MAX_LABEL_CHARS" if kind == "chars" else "MAX_LABELS"


TextInput = Union[str, List[str]]
