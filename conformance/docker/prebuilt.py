"""An image taken as given (`--image TAG`): what it is, so that the checks know what to hold it to.

The kit's own images say it with their `org.orin-kit.image` label. Any other image needs the user to say it:
`--image-kind NAME` (an image of the kit's catalogue, fixtures/images/variants.yaml) or `--image-spec FILE`
(a short YAML: service port, torch or not, what must be absent ...; docs/images.md). Without either the run
refuses to start: checks run against a guessed kind would skip or pass for the wrong reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.config import ConfigError
from conformance.config.image_rules import load_distributions, load_image_description, normalize
from conformance.config.images import ImageSpec
from conformance.docker.images import IMAGE_LABEL
from conformance.docker.inspect import image_label


class PrebuiltImageError(ValueError):
    """The image given with --image cannot be described; the message is one usage line."""


@dataclass(frozen=True)
class Prebuilt:
    """The image under test when one was given: its tag, its spec and the distributions it must carry."""

    tag: str
    spec: ImageSpec
    distributions: frozenset[str] | None
    source: str  # how the kit knows what it is: "label", "--image-kind", "--image-spec FILE"


USAGE = ("--image {tag}: {why}; say what it is with --image-kind {kinds} (an image like the kit's) or "
         "--image-spec FILE (a YAML description: name, port, has_torch, app_module, must_be_absent ...; "
         "docs/images.md)")


def describe(docker: str, tag: str, specs: dict[str, ImageSpec], variant: str, kind: str | None = None,
             spec_file: Path | None = None) -> Prebuilt:
    """What the image tag is: from --image-spec, --image-kind, or its label; PrebuiltImageError otherwise."""
    kinds = "|".join(sorted(specs))
    label = image_label(docker, tag, IMAGE_LABEL)
    if label is None:
        raise PrebuiltImageError(f"--image {tag}: no such image (docker image inspect found none); build or pull "
                                 "it first")
    if spec_file is not None:
        try:
            description = load_image_description(spec_file)
        except ConfigError as error:
            raise PrebuiltImageError(f"--image-spec {error}") from None
        listed = description.distributions
        dists = frozenset(normalize(name) for name in listed) if listed is not None else None
        return Prebuilt(tag, description.spec(), dists, f"--image-spec {spec_file}")
    chosen = kind or label
    source = "--image-kind" if kind else f"label {IMAGE_LABEL}"
    if not chosen:
        raise PrebuiltImageError(USAGE.format(tag=tag, why=f"the image has no {IMAGE_LABEL} label", kinds=kinds))
    if chosen not in specs:
        raise PrebuiltImageError(USAGE.format(tag=tag, why=f"'{chosen}' ({source}) is not an image of the kit's "
                                                        f"catalogue", kinds=kinds))
    if kind and label and label != kind:
        raise PrebuiltImageError(f"--image {tag}: --image-kind {kind} contradicts its label {IMAGE_LABEL}={label}; "
                                 "drop --image-kind, or check the tag")
    recorded = load_distributions().get(chosen, {})
    return Prebuilt(tag, specs[chosen], recorded.get(variant), source)
