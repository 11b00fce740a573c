"""What is wrong with a distribution's configuration, and what is missing from it.

Two questions, asked at different moments:
- `configuration_problems`: is anything given *wrong* (an unknown trigger, an action the trigger does
  not allow, a channel the action does not allow, a campaign of another project or of the wrong
  type)? Asked on every create and update: a wrong value is refused even in a draft.
- `completeness_problems`: is anything *missing* for Save & Send (a name, required parameters, an
  audience, a channel's settings)? Drafts may be incomplete; sending, and editing a distribution
  that is already scheduled or live, need it complete.

Each problem names its field (`.trigger.params.campaign`), so an error lists every part to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from distributions import catalogue
from distributions.catalogue import Mode, Parameter, ParameterKind
from distributions.parameters import ParameterInvalid, resolve_parameter
from tenancy.models import Project

AUDIENCE_TYPES = {"customer": ParameterKind.CUSTOMER, "segment": ParameterKind.SEGMENT}
EMAIL_CONTENT_KEYS = ("body", "design", "custom_html")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"Property {self.field}: {self.message}" if self.field else self.message


@dataclass
class Configuration:
    """A distribution's configuration as plain values: the stored one with a request's changes applied."""

    name: str
    trigger_key: str
    trigger_params: dict[str, Any]
    audience: dict[str, Any]
    action_key: str
    action_params: dict[str, Any]
    channels: list[dict[str, Any]]  # {"kind", "settings", "template"}
    live_from: Any
    live_until: Any

    @property
    def trigger(self) -> catalogue.Trigger | None:
        return catalogue.trigger(self.trigger_key)

    @property
    def action(self) -> catalogue.Action | None:
        return catalogue.action(self.action_key)


def _resolve_params(
    project: Project,
    parameters: Iterable[Parameter],
    given: Mapping[str, Any],
    path: str,
    *,
    names_to_check: Iterable[str] | None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Resolve the given values; returns them normalised to public ids, and the problems found."""
    by_name = {p.name: p for p in parameters}
    problems = [
        Problem(f"{path}.{name}", "is not a parameter of this " + path.split(".")[1])
        for name in given
        if name not in by_name
    ]
    normalised = dict(given)
    check = set(given) if names_to_check is None else set(names_to_check) & set(given)
    for name in sorted(check & set(by_name)):
        value = given[name]
        if value is None:
            normalised.pop(name)
            continue
        try:
            normalised[name] = resolve_parameter(project, by_name[name], value).public_id
        except ParameterInvalid as error:
            problems.append(Problem(f"{path}.{name}", str(error)))
    return normalised, problems


def _check_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return "must be an http(s) URL"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    return None


def configuration_problems(
    project: Project, config: Configuration, *, changed: set[str], resolve_all: bool = False
) -> tuple[Configuration, list[Problem]]:
    """The problems with what is *given*; returns the configuration with parameters normalised.

    Parameters are looked up only where `changed` names their part (or everywhere with
    `resolve_all`), so an edit of the name does not depend on a campaign still existing.
    """
    problems: list[Problem] = []
    trigger = config.trigger
    action = config.action
    if config.trigger_key and trigger is None:
        problems.append(Problem(".trigger.key", f"unknown trigger {config.trigger_key!r}"))
    if config.action_key and action is None:
        problems.append(Problem(".action.key", f"unknown action {config.action_key!r}"))

    if trigger is not None:
        config.trigger_params, found = _resolve_params(
            project,
            trigger.parameters,
            config.trigger_params,
            ".trigger.params",
            names_to_check=None if resolve_all or "trigger" in changed else (),
        )
        problems.extend(found)
    if action is not None:
        config.action_params, found = _resolve_params(
            project,
            action.parameters,
            config.action_params,
            ".action.params",
            names_to_check=None if resolve_all or "action" in changed else (),
        )
        problems.extend(found)
        if trigger is not None and trigger.key not in action.triggers:
            problems.append(
                Problem(".action.key", f"action {action.key!r} is not allowed for trigger {trigger.key!r}")
            )

    problems.extend(_audience_problems(project, config, resolve=resolve_all or "audience" in changed))
    problems.extend(_channel_problems(config))

    if config.live_from or config.live_until:
        if trigger is not None and trigger.mode == Mode.MANUAL:
            given = ".live_from" if config.live_from else ".live_until"
            problems.append(Problem(given, "a manual distribution has no time frame"))
        if config.live_from and config.live_until and config.live_until <= config.live_from:
            problems.append(Problem(".live_until", "must be later than live_from"))
    return config, problems


def _audience_problems(project: Project, config: Configuration, *, resolve: bool) -> list[Problem]:
    audience = config.audience
    if not audience:
        return []
    trigger = config.trigger
    if trigger is not None and trigger.mode == Mode.AUTOMATIC:
        return [
            Problem(".audience", "an automatic distribution has no audience: its trigger picks the customer")
        ]
    audience_type = audience.get("type")
    if audience_type not in AUDIENCE_TYPES:
        return [Problem(".audience.type", "must be customer or segment")]
    unknown = sorted(set(audience) - {"type", audience_type})
    if unknown:
        return [Problem(f".audience.{name}", "is not allowed for this audience type") for name in unknown]
    if audience_type not in audience or not resolve:
        return []
    parameter = Parameter(audience_type, AUDIENCE_TYPES[audience_type], audience_type.title())
    try:
        audience[audience_type] = resolve_parameter(project, parameter, audience[audience_type]).public_id
    except ParameterInvalid as error:
        return [Problem(f".audience.{audience_type}", str(error))]
    return []


def _channel_problems(config: Configuration) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    allowed = None
    if config.trigger is not None and config.action is not None:
        allowed = {c.key for c in catalogue.channels_for(config.trigger_key, config.action_key)}
    for index, entry in enumerate(config.channels):
        path = f".channels[{index}]"
        kind = entry.get("kind")
        found = catalogue.channel(kind) if isinstance(kind, str) else None
        if found is None:
            problems.append(Problem(f"{path}.kind", f"unknown channel {kind!r}"))
            continue
        if kind in seen:
            problems.append(Problem(f"{path}.kind", f"channel {kind!r} is given twice"))
        seen.add(kind)
        if allowed is not None and kind not in allowed:
            problems.append(
                Problem(
                    f"{path}.kind",
                    f"channel {kind!r} is not allowed for action {config.action_key!r} "
                    f"with trigger {config.trigger_key!r}",
                )
            )
        if kind == "webhook" and entry.get("settings", {}).get("url") is not None:
            url_problem = _check_url(entry["settings"]["url"])
            if url_problem:
                problems.append(Problem(f"{path}.settings.url", url_problem))
    return problems


def completeness_problems(project: Project, config: Configuration) -> list[Problem]:
    """What Save & Send needs and `config` lacks, plus anything wrong with it (every part resolved)."""
    _, problems = configuration_problems(project, config, changed=set(), resolve_all=True)
    if not config.name.strip():
        problems.append(Problem(".name", "is required"))
    trigger, action = config.trigger, config.action
    if not config.trigger_key:
        problems.append(Problem(".trigger.key", "is required"))
    if trigger is not None:
        problems.extend(
            Problem(f".trigger.params.{p.name}", "is required")
            for p in trigger.required_parameters
            if config.trigger_params.get(p.name) in (None, "")
        )
        if trigger.mode == Mode.MANUAL:
            audience_type = config.audience.get("type")
            if not config.audience:
                problems.append(Problem(".audience", "is required: one customer or a segment"))
            elif audience_type in AUDIENCE_TYPES and not config.audience.get(audience_type):
                problems.append(Problem(f".audience.{audience_type}", "is required"))
        elif config.live_until is not None and config.live_until <= timezone.now():
            problems.append(Problem(".live_until", "is in the past: the distribution would never fire"))
    if not config.action_key:
        problems.append(Problem(".action.key", "is required"))
    if action is not None:
        problems.extend(
            Problem(f".action.params.{p.name}", "is required")
            for p in action.required_parameters
            if config.action_params.get(p.name) in (None, "")
        )
    if not config.channels:
        problems.append(Problem(".channels", "at least one channel is required"))
    for index, entry in enumerate(config.channels):
        found = catalogue.channel(entry.get("kind"))
        if found is None:
            continue
        settings = entry.get("settings") or {}
        # A webhook names a saved endpoint or a URL (an endpoint is created for it on Save & Send).
        if not (found.key == "webhook" and settings.get("endpoint")):
            problems.extend(
                Problem(f".channels[{index}].settings.{name}", "is required")
                for name in found.required_settings
                if not settings.get(name)
            )
        template = entry.get("template") or {}
        problems.extend(
            Problem(f".channels[{index}].template.{name}", "is required")
            for name in found.required_template
            if not template.get(name)
        )
        # The plain editor gives an email a text body; the message editor gives it a block design or, on
        # the enterprise plan, custom HTML instead (`distributions.channels` passes either on).
        if found.key == "email" and not any(template.get(key) for key in EMAIL_CONTENT_KEYS):
            problems.append(
                Problem(f".channels[{index}].template.body", "is required: a body, design or custom_html")
            )
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
