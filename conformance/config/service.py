"""Data of the GLiNER2 service checks: criteria, bad inputs, and the crash signatures logs are matched against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

from pydantic import Field

from conformance import FIXTURES_DIR
from conformance.config import ConfigError, Model, Regex, load

GLINER2_FIXTURES = FIXTURES_DIR / "gliner2"
SERVICE_CRITERIA = GLINER2_FIXTURES / "criteria.yaml"
BAD_INPUTS = GLINER2_FIXTURES / "bad_inputs.yaml"
#: The known failures; the entries marked `crash` are the crash signatures (conformance/config/diagnoses.py).
CRASH_SIGNATURES = FIXTURES_DIR / "diagnoses.yaml"


class CrashSignature(Model):
    """A log text that means a native crash, with what it means and where the knowledge comes from."""

    id: str
    pattern: Regex
    meaning: str
    source: str


def load_crash_signatures(path: Path = CRASH_SIGNATURES) -> tuple[CrashSignature, ...]:
    """The crash signatures (the `crash` entries of the known failures); a missing, empty or malformed file is
    a ConfigError, never an empty list."""
    from conformance.config.diagnoses import load_diagnoses

    crashes = tuple(CrashSignature(id=d.id, pattern=d.pattern, meaning=d.cause, source=d.source)
                    for d in load_diagnoses(path) if d.crash)
    if not crashes:
        raise ConfigError(f"{path}: diagnoses: no entry has crash: true; expected the crash signatures (an empty "
                          "list would make the log checks blank)")
    return crashes


Positive = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
Body = Any  # a JSON value sent as the request body


class Request(Model):
    path: str
    body: Body


class LongText(Model):
    """A long request: ``texts`` copies of ``sentence`` x ``repeats`` with ``labels``."""

    sentence: str
    repeats: Count
    texts: Count
    labels: tuple[str, ...] = Field(min_length=1)

    def payload(self) -> dict[str, Any]:
        text = " ".join([self.sentence] * self.repeats)
        return {"text": [text] * self.texts if self.texts > 1 else text, "labels": list(self.labels)}


class HealthInFlight(Model):
    """/health answered while a long inference is in flight (the middle part of each long request)."""

    long: LongText
    duration_s: Positive
    middle_fraction: Fraction
    min_answers: Count
    min_long_requests: Count


class HealthUnderLoad(Model):
    long: LongText
    duration_s: Positive
    interval_s: Annotated[float, Field(ge=0.0)]
    min_samples: Count


class ConcurrentMix(Model):
    requests: Count
    clients: Count


class PoisonedMix(ConcurrentMix):
    """``invalid_every``-th request is one the model cannot take (over its positions, under MAX_TEXT_CHARS)."""

    invalid_every: Count
    invalid: Request


class Disconnect(Model):
    dropped: LongText
    dropped_requests: Count
    max_wait_ratio: Positive  # the next request may wait at most this many dropped requests' time


class Memory(Model):
    largest: LongText
    rounds: Count
    growth_mb_max: Positive


class Shutdown(Model):
    stop_timeout_s: Positive  # what the compose file gives `docker stop` (Docker's default is 10 s)
    inference_min_ms: Count
    clients: Count
    request: LongText


class Schemathesis(Model):
    max_examples: Count
    seed: int
    timeout_s: Positive


class Throughput(Model):
    clients: tuple[Count, ...]
    seconds: Positive
    rounds: Count
    test_seconds: Positive  # the one round `make test` runs (benchmarks disabled: nothing gated on speed)
    floor_clients: Count
    #: micro-batched / one-at-a-time floor by client count (the floor_clients floor is the profile's)
    min_ratio: dict[int, Positive]
    path: str
    payloads: tuple[dict[str, Any], ...] = Field(min_length=1)


class ServiceCriteria(Model):
    source: str
    health_in_flight: HealthInFlight
    health_under_load: HealthUnderLoad
    concurrent_mix: ConcurrentMix
    poisoned_mix: PoisonedMix
    disconnect: Disconnect
    memory: Memory
    shutdown: Shutdown
    schemathesis: Schemathesis
    throughput: Throughput
    mix: tuple[Request, ...] = Field(min_length=1)


class BadInput(Model):
    """A request the service must refuse: status, and the words its one-line detail must contain."""

    id: str
    path: str
    body: Body = None
    raw: Optional[str] = None
    #: a generated body: {repeat: S, times: N} in body values expands to S*N, {labels: N} to N labels
    content_type: str = "application/json"
    status: Annotated[int, Field(ge=400, le=499)] = 422
    detail: tuple[str, ...] = ()  # substrings: the field, the limit, what was found


class BadInputs(Model):
    source: str
    cases: tuple[BadInput, ...] = Field(min_length=1)


def load_service_criteria(path: Path = SERVICE_CRITERIA) -> ServiceCriteria:
    return load(path, ServiceCriteria)


def load_bad_inputs(path: Path = BAD_INPUTS) -> tuple[BadInput, ...]:
    return load(path, BadInputs).cases
